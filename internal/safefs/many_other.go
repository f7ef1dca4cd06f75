//go:build !linux

package safefs

import (
	"io/fs"
	"sync"
)

// StatMany stats names (store paths, as Stat takes) as Stat would, with
// up to workers at a time, calling each with every result in no order;
// each returning false stops the rest.
func (d *DirFS) StatMany(names []string, workers int, each func(i int, st fs.FileInfo, err error) bool) {
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
				st, err := d.Stat(names[i])
				if !each(i, st, err) {
					stop.Do(func() { close(done) })
					return
				}
			}
		}(w)
	}
	wg.Wait()
}
