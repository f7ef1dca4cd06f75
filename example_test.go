package httptrust_test

import (
	"embed"
	"fmt"
	"io/fs"
	"log"

	"github.com/httptrust/httptrust"
)

// A store can ship inside the binary: the Go form of an app's bundled
// certificates folder. Every rule file is validated when it loads.
//
//go:embed testdata/example-store
var bundled embed.FS

func ExampleLoadFS() {
	store, err := fs.Sub(bundled, "testdata/example-store")
	if err != nil {
		log.Fatal(err)
	}
	policy, err := httptrust.LoadFS(store, nil)
	if err != nil {
		log.Fatal(err) // never fall back to wider trust
	}
	for _, host := range []string{"api.corp.example", "legacy.corp.example", "example.com"} {
		eff, err := policy.Lookup(host)
		if err != nil {
			log.Fatal(err)
		}
		pins := 0
		if eff.Pins != nil {
			pins = len(eff.Pins.Pins)
		}
		fmt.Printf("%s: rule %q, %d pins from %s, system roots %v\n",
			host, eff.Pattern, pins, eff.Sources["pins"], eff.SystemRoots)
	}
	client := policy.Client() // verifies every host under its own rule
	_ = client
	// Output:
	// api.corp.example: rule "**.corp.example", 2 pins from trust.toml:3, system roots true
	// legacy.corp.example: rule "legacy.corp.example", 2 pins from trust.toml:3, system roots true
	// example.com: rule "", 0 pins from default, system roots true
}

func ExampleParsePattern() {
	for _, s := range []string{"Device.Local.", "*.corp.example", "**.com", "192.168.1.0/24"} {
		p, err := httptrust.ParsePattern(s)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Println(p)
	}
	// Output:
	// device.local
	// *.corp.example
	// error: httptrust: host pattern "**.com": pattern covers a public suffix or every host ("com" is a public suffix); name a domain you control
	// 192.168.1.0/24
}
