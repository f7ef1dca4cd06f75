package safefs

import (
	"io/fs"
	"sync"
)

// statEach runs stat on every name with up to workers at a time and calls
// each with every result, in no order; each returning false stops the
// rest (StatMany).
func statEach(names []string, workers int, stat func(string) (fs.FileInfo, error), each func(i int, st fs.FileInfo, err error) bool) {
	workers = max(1, min(workers, len(names)))
	var stop sync.Once
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(names); i += workers {
				select {
				case <-done:
					return
				default:
				}
				st, err := stat(names[i])
				if !each(i, st, err) {
					stop.Do(func() { close(done) })
					return
				}
			}
		}(w)
	}
	wg.Wait()
}
