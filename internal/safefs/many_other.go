//go:build !linux

package safefs

import (
	"io/fs"
)

// StatMany stats names (store paths, as Stat takes) as Stat would, with
// up to workers at a time, calling each with every result in no order;
// each returning false stops the rest.
func (d *DirFS) StatMany(names []string, workers int, each func(i int, st fs.FileInfo, err error) bool) {
	statEach(names, workers, d.Stat, each)
}

// Direct reports whether st, from StatMany, is of a regular file that is
// itself the entry of its name: never known here.
func Direct(fs.FileInfo) bool { return false }
