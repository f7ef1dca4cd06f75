package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Progress meter thresholds: it shows once the body is this large (by
// its Content-Length or what arrived) or the transfer has lasted this
// long, so that a small, quick answer prints nothing.
const (
	progressMinSize = 1 << 20
	progressMinTime = time.Second
	progressEvery   = 100 * time.Millisecond
)

// progress is a one-line progress meter on stderr: percentage, bar,
// bytes, the average rate and the time left, redrawn at most ten times a
// second, each line cleared to its end.
type progress struct {
	w           io.Writer
	total       int64 // -1 when unknown
	done        int64
	start, last time.Time
	now         func() time.Time
	shown       bool
	clearEOL    bool // the terminal takes ESC [ K; else lines are padded
	width       int  // of the last line drawn
}

func newProgress(w io.Writer, total int64, now func() time.Time, clearEOL bool) *progress {
	return &progress{w: w, total: total, now: now, start: now(), clearEOL: clearEOL}
}

func (p *progress) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	t := p.now()
	if !p.shown {
		if p.total < progressMinSize && p.done < progressMinSize && t.Sub(p.start) < progressMinTime {
			return len(b), nil
		}
		p.shown = true
	} else if t.Sub(p.last) < progressEvery {
		return len(b), nil
	}
	p.last = t
	p.draw(t, false)
	return len(b), nil
}

// draw redraws the line; final replaces the time left by the time taken.
func (p *progress) draw(t time.Time, final bool) {
	elapsed := t.Sub(p.start)
	var rate int64
	if elapsed > 0 {
		rate = int64(float64(p.done) / elapsed.Seconds())
	}
	var line string
	if p.total <= 0 {
		line = fmt.Sprintf("%s  %s/s", size(p.done), size(rate))
	} else {
		line = fmt.Sprintf("%3d%% [%s] %s / %s  %s/s", p.done*100/p.total, bar(p.done, p.total), size(p.done), size(p.total), size(rate))
	}
	switch {
	case final:
		line += "  in " + clock(elapsed)
	case p.total > 0 && rate > 0 && p.done < p.total:
		line += "  ETA " + clock(time.Duration(float64(p.total-p.done)/float64(rate)*float64(time.Second)))
	}
	pad := ""
	if p.clearEOL {
		pad = "\x1b[K"
	} else if n := p.width - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	p.width = len(line)
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
}

func (p *progress) finish() {
	if !p.shown {
		return
	}
	p.draw(p.now(), true)
	fmt.Fprintln(p.w)
}

// bar is a 30-character bar, done of total filled.
func bar(done, total int64) string {
	const width = 30
	n := int(min(done*width/total, width))
	return strings.Repeat("#", n) + strings.Repeat(" ", width-n)
}

// clock formats a duration as m:ss, or h:mm:ss.
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
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
