package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestTableIsUpToDate regenerates psl_table.go from the golang.org/x/net in
// the build list and compares it with the checked-in file.
func TestTableIsUpToDate(t *testing.T) {
	mod, err := findModule()
	if err != nil {
		t.Fatal(err)
	}
	want, err := generate(mod)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join("..", "..", "psl_table.go")
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what pslgen generates from golang.org/x/net %s; run \"go generate .\" in the module root", file, mod.Version)
	}
}

func TestCompareEntries(t *testing.T) {
	order := []string{"ck", "*.ck", "www.ck", "!www.ck", "a.www.ck", "com", "amazonaws.com", "s3-1.amazonaws.com", "*.compute-1.amazonaws.com", "s3.amazonaws.com", "net"}
	for i := range order {
		for j := range order {
			got := compareEntries(order[i], order[j])
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			if got != want {
				t.Errorf("compareEntries(%q, %q) = %d, want %d", order[i], order[j], got, want)
			}
		}
	}
}
