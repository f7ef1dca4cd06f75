package fleet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/httptrust/httptrust"
)

// Scan never runs more probes at once than asked, probes every target
// once, and calls back one result at a time.
func TestScanBounds(t *testing.T) {
	p, err := httptrust.New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ targets, workers, want int }{{100, 7, 7}, {3, 50, 3}, {40, 0, DefaultConcurrency}, {0, 4, 0}} {
		t.Run(fmt.Sprintf("%d/%d", c.targets, c.workers), func(t *testing.T) {
			var now, peak, inEach, started atomic.Int64
			want := int64(min(c.want, c.targets))
			pr := &Prober{Policy: func() *httptrust.Policy { return p }, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
				n := now.Add(1)
				started.Add(1)
				for {
					m := peak.Load()
					if n <= m || peak.CompareAndSwap(m, n) {
						break
					}
				}
				// Hold the probe until the pool is full (or every target has
				// started, or a second has passed), so that the peak is
				// reached however slowly the machine schedules the workers.
				for deadline := time.Now().Add(time.Second); now.Load() < want && started.Load() < int64(c.targets) && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
				now.Add(-1)
				return nil, errors.New("refused")
			}}
			var ts []Target
			for i := range c.targets {
				ts = append(ts, target(t, fmt.Sprintf("h%d.test:443", i)))
			}
			seen := make([]int, len(ts))
			pr.Scan(context.Background(), ts, ModuleTLS, c.workers, func(i int, r *Result) {
				if inEach.Add(1) != 1 {
					t.Error("each called concurrently")
				}
				seen[i]++
				if r.Target.Raw != ts[i].Raw || r.Reason != FailConnect {
					t.Errorf("result %d: %s %q", i, r.Target.Raw, r.Reason)
				}
				inEach.Add(-1)
			})
			for i, n := range seen {
				if n != 1 {
					t.Errorf("target %d reported %d times", i, n)
				}
			}
			if got := peak.Load(); got != want {
				t.Errorf("peak %d probes at once, want %d", got, want)
			}
		})
	}
}

// A cancelled scan still reports every target, at once.
func TestScanCancelled(t *testing.T) {
	p, _ := httptrust.New(nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	pr := &Prober{Policy: func() *httptrust.Policy { return p }}
	var ts []Target
	for i := range 50 {
		ts = append(ts, target(t, fmt.Sprintf("127.0.0.1:%d", 1+i)))
	}
	n := 0
	start := time.Now()
	pr.Scan(ctx, ts, ModuleHTTPS, 4, func(_ int, r *Result) {
		n++
		if r.Reason != FailTimeout {
			t.Errorf("%s: %q", r.Target.Raw, r.Reason)
		}
	})
	if n != len(ts) || time.Since(start) > 5*time.Second {
		t.Errorf("%d results in %s", n, time.Since(start))
	}
}
