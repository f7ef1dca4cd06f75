//go:build unix && !linux

package atomicfile

import "syscall"

func syncFunc() { syscall.Sync() }
