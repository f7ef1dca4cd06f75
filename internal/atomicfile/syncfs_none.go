//go:build !unix && !windows

package atomicfile

func syncFunc() {}
