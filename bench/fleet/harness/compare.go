package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// contestant is one exporter under load.
type contestant struct {
	name, url, pid, module string
	probes, ok             int64
	seconds, cpu           float64
	rounds                 []float64 // rate of each round
}

// exporters runs interleaved rounds of the same load on every exporter
// (the order rotates each round) and prints, for each, the probe rate,
// the CPU seconds per 1,000 probes (from /proc, the exporter's own) and
// its peak RSS.
func exporters(args []string) error {
	fs := flag.NewFlagSet("exporters", flag.ExitOnError)
	list := fs.String("targets", "", "targets file")
	c := fs.Int("c", 64, "concurrency")
	d := fs.Duration("d", 5*time.Second, "duration of a round")
	rounds := fs.Int("rounds", 6, "rounds per exporter")
	warm := fs.Duration("warmup", 2*time.Second, "an unmeasured round first")
	fs.Parse(args)
	targets, err := readTargets(*list)
	if err != nil {
		return err
	}
	var cs []*contestant
	for _, a := range fs.Args() {
		name, rest, _ := strings.Cut(a, "=")
		p := strings.Split(rest, ",")
		switch {
		case len(p) == 3 && p[0] == "floor":
			// The floor itself, in this process: floor,MODULE,CAFILE.
			cs = append(cs, &contestant{name: name, module: p[1], pid: p[2]})
		case len(p) == 3:
			cs = append(cs, &contestant{name: name, url: p[0], pid: p[1], module: p[2]})
		default:
			return fmt.Errorf("want NAME=URL,PID,MODULE or NAME=floor,MODULE,CAFILE, got %q", a)
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *c, MaxIdleConns: *c}, Timeout: 30 * time.Second}
	floors := map[*contestant]func(string) bool{}
	for _, ct := range cs {
		if ct.url == "" {
			pool, err := readPool(ct.pid)
			if err != nil {
				return err
			}
			if floors[ct], err = floorProbe(ct.module, pool, "classic"); err != nil {
				return err
			}
		}
	}
	usage := func(ct *contestant) float64 {
		if ct.url == "" {
			return selfCPU()
		}
		c, _, _ := procUsage(ct.pid)
		return c
	}
	probe := func(ct *contestant) func(string) bool {
		if f := floors[ct]; f != nil {
			return f
		}
		return func(t string) bool {
			req, _ := http.NewRequest(http.MethodGet, ct.url+"?"+url.Values{"target": {t}, "module": {ct.module}}.Encode(), nil)
			req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
			resp, err := client.Do(req)
			if err != nil {
				return false
			}
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			return resp.StatusCode == 200 && bytes.Contains(b.Bytes(), []byte("\nprobe_success 1\n"))
		}
	}
	for _, ct := range cs {
		run(targets, *c, *warm, probe(ct))
	}
	for r := 0; r < *rounds; r++ {
		for i := range cs {
			ct := cs[(i+r)%len(cs)]
			cpu0 := usage(ct)
			rep := run(targets, *c, *d, probe(ct))
			cpu1 := usage(ct)
			ct.probes += rep.Probes
			ct.ok += rep.OK
			ct.seconds += rep.Seconds
			ct.cpu += cpu1 - cpu0
			ct.rounds = append(ct.rounds, float64(rep.Probes)/rep.Seconds)
			fmt.Fprintf(os.Stderr, "round %d %-10s %7.0f probes/s, %5.3f CPU s/1000, %d/%d ok\n", r+1, ct.name,
				float64(rep.Probes)/rep.Seconds, (cpu1-cpu0)/float64(rep.Probes)*1000, rep.OK, rep.Probes)
		}
	}
	fmt.Printf("%-10s %8s %10s %12s %14s %13s %s\n", "exporter", "probes", "ok", "probes/s", "CPU s/1000", "peak RSS MiB", "rounds (probes/s)")
	for _, ct := range cs {
		var rss int64
		if ct.url != "" {
			_, rss, _ = procUsage(ct.pid)
		}
		var rs []string
		for _, x := range ct.rounds {
			rs = append(rs, fmt.Sprintf("%.0f", x))
		}
		fmt.Printf("%-10s %8d %10d %12.0f %14.3f %13.1f %s\n", ct.name, ct.probes, ct.ok, float64(ct.probes)/ct.seconds,
			ct.cpu/float64(ct.probes)*1000, float64(rss)/1024, strings.Join(rs, " "))
	}
	for _, b := range cs[1:] {
		a := cs[0]
		fmt.Printf("ratio %s/%s: rate %.2fx, CPU per probe %.2fx\n", b.name, a.name,
			(float64(b.probes)/b.seconds)/(float64(a.probes)/a.seconds), (b.cpu/float64(b.probes))/(a.cpu/float64(a.probes)))
	}
	return nil
}

// scanBench runs the scan command and the floor (this harness's floor
// subcommand, as a process of its own) over the same targets at the same
// concurrency, in turns, and prints the rates and CPU of each.
func scanBench(args []string) error {
	fs := flag.NewFlagSet("scan", flag.ExitOnError)
	list := fs.String("targets", "", "targets file")
	c := fs.Int("c", 64, "concurrency")
	rounds := fs.Int("rounds", 3, "runs of each")
	ca := fs.String("ca", "", "root certificate file, for the floor")
	module := fs.String("module", "tls", "the floor's module")
	kexes := fs.String("kex", "default,classic", "the floors' key exchanges, comma-separated")
	fs.Parse(args)
	scanCmd := fs.Args()
	if len(scanCmd) == 0 {
		return fmt.Errorf("no scan command")
	}
	targets, err := readTargets(*list)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	type side struct {
		name          string
		cmd           []string
		wall, cpu     float64
		rates         []string
		maxRSS        int64
		failedTargets int
	}
	sides := []*side{{name: "scan", cmd: append(scanCmd, "--targets", *list, "--concurrency", fmt.Sprint(*c))}}
	for _, k := range strings.Split(*kexes, ",") {
		sides = append(sides, &side{name: "floor/" + k, cmd: []string{self, "floor", "-targets", *list, "-c", fmt.Sprint(*c), "-module", *module, "-ca", *ca, "-kex", k}})
	}
	for r := 0; r < *rounds; r++ {
		for i := range sides {
			s := sides[(i+r)%len(sides)]
			cmd := exec.Command(s.cmd[0], s.cmd[1:]...)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			start := time.Now()
			err := cmd.Run()
			wall := time.Since(start).Seconds()
			if err != nil && cmd.ProcessState == nil {
				return err
			}
			if strings.HasPrefix(s.name, "floor") {
				var rep report
				if json.Unmarshal(out.Bytes(), &rep) == nil && rep.OK != int64(len(targets)) {
					return fmt.Errorf("the floor failed %d targets", int64(len(targets))-rep.OK)
				}
			} else if cmd.ProcessState.ExitCode() != 0 {
				return fmt.Errorf("the scan failed (exit %d): %s", cmd.ProcessState.ExitCode(), lastLine(errb.String()))
			}
			ps := cmd.ProcessState
			s.wall += wall
			s.cpu += (ps.UserTime() + ps.SystemTime()).Seconds()
			s.rates = append(s.rates, fmt.Sprintf("%.0f", float64(len(targets))/wall))
			if ru, ok := ps.SysUsage().(*syscallRusage); ok && ru.Maxrss > s.maxRSS {
				s.maxRSS = ru.Maxrss
			}
			fmt.Fprintf(os.Stderr, "round %d %-13s %7.0f targets/s, %5.3f CPU s/1000\n", r+1, s.name, float64(len(targets))/wall,
				(ps.UserTime()+ps.SystemTime()).Seconds()/float64(len(targets))*1000)
		}
	}
	n := float64(len(targets) * *rounds)
	fmt.Printf("%-13s %10s %12s %14s %13s %s\n", "", "targets", "targets/s", "CPU s/1000", "peak RSS MiB", "runs (targets/s)")
	for _, s := range sides {
		fmt.Printf("%-13s %10d %12.0f %14.3f %13.1f %s\n", s.name, len(targets)**rounds, n/s.wall, s.cpu/n*1000, float64(s.maxRSS)/1024, strings.Join(s.rates, " "))
	}
	for _, f := range sides[1:] {
		fmt.Printf("ratio scan/%s: rate %.2fx, CPU per target %.2fx\n", f.name, f.wall/sides[0].wall, sides[0].cpu/f.cpu)
	}
	return nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

type syscallRusage = syscall.Rusage
