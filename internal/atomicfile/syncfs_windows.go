//go:build windows

package atomicfile

// NTFS journals its renames; there is no sync of a whole file system.
func syncFunc() {}
