package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"time"
)

// writeResponse writes the body (and with -i the status and headers) to
// stdout or -o FILE, with a progress bar on a terminal for a file.
func (e *env) writeResponse(g *getFlags, resp *http.Response) error {
	out := e.stdout
	var file *os.File
	if g.output != "" && g.output != "-" {
		f, err := os.Create(g.output)
		if err != nil {
			return &exitError{code: exitWrite, err: fmt.Errorf("-o: %w", err)}
		}
		defer f.Close()
		out, file = f, f
	}
	if g.include || g.head {
		writeHead(out, resp)
	}
	if g.head {
		return nil
	}
	var dst io.Writer = out
	if file != nil && !g.silent && e.terminal(e.stderr) {
		bar := &progress{w: e.stderr, total: resp.ContentLength, now: e.now}
		defer bar.finish()
		dst = io.MultiWriter(out, bar)
	}
	if _, err := io.Copy(dst, resp.Body); err != nil {
		return &exitError{code: exitRecv, err: fmt.Errorf("%s: reading the body: %w", resp.Request.URL.Redacted(), err)}
	}
	if file != nil {
		if err := file.Close(); err != nil {
			return &exitError{code: exitWrite, err: fmt.Errorf("-o: %w", err)}
		}
	}
	return nil
}

// writeHead writes the status line and headers as curl -i does.
func writeHead(w io.Writer, resp *http.Response) {
	printf(w, "%s %s\r\n", resp.Proto, resp.Status)
	keys := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range resp.Header[k] {
			printf(w, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprint(w, "\r\n")
}

// progress is a one-line progress bar, redrawn at most ten times a second.
type progress struct {
	w     io.Writer
	total int64 // -1 when unknown
	done  int64
	last  time.Time
	now   func() time.Time
}

func (p *progress) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if t := p.now(); t.Sub(p.last) >= 100*time.Millisecond {
		p.last = t
		p.draw()
	}
	return len(b), nil
}

func (p *progress) draw() {
	if p.total <= 0 {
		fmt.Fprintf(p.w, "\r%s", size(p.done))
		return
	}
	const width = 30
	n := int(p.done * width / p.total)
	if n > width {
		n = width
	}
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = ' '
		if i < n {
			bar[i] = '#'
		}
	}
	fmt.Fprintf(p.w, "\r[%s] %3d%% %s / %s", bar, p.done*100/p.total, size(p.done), size(p.total))
}

func (p *progress) finish() {
	p.draw()
	fmt.Fprintln(p.w)
}

// size formats a byte count.
func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
