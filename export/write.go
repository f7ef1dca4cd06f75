package export

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/httptrust/httptrust/internal/atomicfile"
)

// ManifestFile is the file, in an output folder, that lists the files an
// export wrote there. A later export replaces those files (and removes the
// ones it no longer writes) and refuses to overwrite any other file
// unless forced.
const ManifestFile = ".httptrust-export"

// ErrNotOurs is wrapped by WriteDir for a file in the way that no export
// wrote.
var ErrNotOurs = errors.New("was not written by httptrust export")

// WriteDir writes res into dir (created if missing), each file atomically.
// A file that exists and that no earlier export into dir wrote (see
// ManifestFile) is not overwritten unless force. Files of an earlier export
// that this one does not write are removed.
func WriteDir(dir string, res *Result, force bool) error {
	if err := checkUniqueFiles(res.Files); err != nil {
		return err
	}
	for _, f := range res.Files {
		if !fs.ValidPath(f.Name) || f.Name == "." || f.Name == ManifestFile {
			return fmt.Errorf("export: %q is not a file name an export may write; nothing was written", f.Name)
		}
	}
	old, err := readManifest(dir)
	if err != nil {
		return err
	}
	var blocked []string
	for _, f := range res.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if _, err := os.Lstat(p); err == nil && !old[f.Name] && !force {
			blocked = append(blocked, p)
		}
	}
	if len(blocked) > 0 {
		return fmt.Errorf("export: %s %w; move it away, choose another folder with -o, or use --force to replace it", strings.Join(blocked, ", "), ErrNotOurs)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	now := map[string]bool{}
	for _, f := range res.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := atomicfile.WriteFile(p, f.Data, f.Mode); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		now[f.Name] = true
	}
	var stale []string
	for name := range old {
		if !now[name] {
			stale = append(stale, name)
		}
	}
	sort.Strings(stale)
	for _, name := range stale {
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(name))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("export: removing a file of the last export: %w", err)
		}
	}
	var b bytes.Buffer
	b.WriteString("# Files written by httptrust export; a new export replaces them.\n")
	names := make([]string, 0, len(now))
	for n := range now {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b.WriteString(n + "\n")
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, ManifestFile), b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// readManifest returns the files the last export into dir wrote.
func readManifest(dir string) (map[string]bool, error) {
	out := map[string]bool{}
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || !fs.ValidPath(line) {
			continue
		}
		out[line] = true
	}
	return out, nil
}
