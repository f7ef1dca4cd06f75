package fleet

import (
	"context"
	"sync"
)

// DefaultConcurrency is how many probes Scan runs at once when told 0.
const DefaultConcurrency = 64

// Scan probes every target with module m, at most concurrency at once (0
// means DefaultConcurrency), and calls each with every result as it
// completes, from one goroutine at a time; i is the target's index. It
// returns when every target has been probed. Once ctx is done, the
// targets not yet probed fail at once (FailTimeout), so every target gets
// a result.
func (p *Prober) Scan(ctx context.Context, targets []Target, m Module, concurrency int, each func(i int, r *Result)) {
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	concurrency = min(concurrency, max(len(targets), 1))
	jobs := make(chan int)
	type done struct {
		i int
		r *Result
	}
	results := make(chan done, concurrency)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				results <- done{i, p.Probe(ctx, targets[i], m)}
			}
		}()
	}
	go func() {
		for i := range targets {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()
	for d := range results {
		each(d.i, d.r)
	}
}
