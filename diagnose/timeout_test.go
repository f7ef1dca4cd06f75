package diagnose

import (
	"strings"
	"testing"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/internal/testpki"
)

// A port that accepts and never answers costs one step's bound, not one
// per TLS version, and is a timeout whose fix allows longer.
func TestSilentPortIsATimeout(t *testing.T) {
	b := newBed(t)
	b.mod = func(o *Options) { o.Timeout = 300 * time.Millisecond }
	s := testpki.StartSilent(t, "127.0.0.1")
	start := time.Now()
	r := b.run(t, "https://a.test:"+s.Port+"/")
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("a silent port took %v, want about one step's bound (300 ms)", took)
	}
	st := step(t, r, "tls_versions")
	if st.Status != Fail || !strings.Contains(st.Summary, "no answer within 0.3 s") {
		t.Errorf("tls_versions %+v", st)
	}
	if !r.TimedOut || r.Remedy == nil || !strings.Contains(r.Fix, "httptrust diagnose --connect-timeout 1 https://a.test:") {
		t.Errorf("timed out %v, fix %q", r.TimedOut, r.Fix)
	}
	if last := r.Steps[len(r.Steps)-1]; last.Name != "tls_versions" {
		t.Errorf("steps after the timeout: %+v", r.Steps)
	}
}

// MaxTime bounds the whole diagnosis, handshakes included, whatever the
// step's bound.
func TestMaxTimeBoundsTheWhole(t *testing.T) {
	b := newBed(t)
	b.mod = func(o *Options) { o.Timeout, o.MaxTime = time.Minute, 400*time.Millisecond }
	s := testpki.StartSilent(t, "127.0.0.1")
	start := time.Now()
	r := b.run(t, "https://a.test:"+s.Port+"/")
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v with MaxTime 400 ms", took)
	}
	st := step(t, r, "tls_versions")
	if st.Status != Fail || !strings.Contains(st.Summary, "time limit (0.4 s)") {
		t.Errorf("tls_versions %+v", st)
	}
	if !r.TimedOut || !strings.Contains(r.Fix, "--max-time 1 ") {
		t.Errorf("timed out %v, fix %q", r.TimedOut, r.Fix)
	}
}

// Steps are reported as they start and end, in order, the same as the
// report holds.
func TestStepsStream(t *testing.T) {
	b := newBed(t)
	var events []string
	var streamed []Step
	b.mod = func(o *Options) {
		o.Start = func(name string) { events = append(events, "start "+name) }
		o.Step = func(s Step) { events = append(events, "end "+s.Name); streamed = append(streamed, s) }
	}
	s := testpki.StartTLS(t, "127.0.0.1", b.pki.FullChain(b.pki.Leaf(t, "a.test")), nil)
	r := b.run(t, "https://a.test:"+s.Port+"/", httptrust.Rule{Hosts: []string{"a.test"}, AnchorCerts: anchors(b.pki.Root.Cert)})
	if len(streamed) != len(r.Steps) {
		t.Fatalf("streamed %d steps, the report has %d", len(streamed), len(r.Steps))
	}
	for i := range streamed {
		if streamed[i].Name != r.Steps[i].Name || streamed[i].Summary != r.Steps[i].Summary || len(streamed[i].Details) != len(r.Steps[i].Details) {
			t.Errorf("step %d streamed as %+v, reported as %+v", i, streamed[i], r.Steps[i])
		}
	}
	got := strings.Join(events, ", ")
	for _, want := range []string{"start connect, end connect", "start tls_versions, end tls_versions, start cipher_suites, end cipher_suites",
		"start client_certificate, end client_certificate, start http, end http"} {
		if !strings.Contains(got, want) {
			t.Errorf("events %q lack %q", got, want)
		}
	}
}

func TestWords(t *testing.T) {
	for _, tt := range []struct {
		got, want string
	}{
		{plural(1, "certificate", "certificates"), "1 certificate"},
		{plural(2, "certificate", "certificates"), "2 certificates"},
		{plural(0, "day", "days"), "0 days"},
		{elapsed(300 * time.Microsecond), "0.3 ms"},
		{elapsed(42 * time.Millisecond), "42 ms"},
		{elapsed(1500 * time.Millisecond), "1.5 s"},
		{elapsed(10 * time.Second), "10 s"},
		{bound(300 * time.Millisecond), "0.3 s"},
		{bound(10 * time.Second), "10 s"},
		{secondsArg(300 * time.Millisecond), "1"},
		{secondsArg(1500 * time.Millisecond), "2"},
		{secondsArg(30 * time.Second), "30"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
