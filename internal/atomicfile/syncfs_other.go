//go:build !linux

package atomicfile

// SyncFS makes durable everything written to the file systems (sync(2)
// where there is no syncfs): once, for many WriteFileUnsynced.
func SyncFS(dir string) error {
	syncFunc()
	return nil
}
