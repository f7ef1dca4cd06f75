//go:build unix

package safefs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// otherUID owns the files of the tests that need another user.
const otherUID = 12345

func write(t *testing.T, name, data string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(name), 0o755))
	must(t, os.WriteFile(name, []byte(data), 0o644))
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: giving a file to another user (os.Chown) needs root; run the tests as root to cover ownership")
	}
}

// bed is a store folder in a sound parent, with a.toml in it, and a
// second folder elsewhere for symbolic links to reach.
type bed struct {
	parent, store, elsewhere string
}

func newBed(t *testing.T) bed {
	b := bed{parent: t.TempDir(), elsewhere: t.TempDir()}
	b.store = filepath.Join(b.parent, "store")
	write(t, filepath.Join(b.store, "a.toml"), "a")
	return b
}

// Every real folder from the file up to the root, the folders holding the
// links on the way and the real file are checked: writable by others (a
// sticky folder excepted) or owned by another user than the process or
// root is refused, naming the real path.
func TestDirChecks(t *testing.T) {
	tests := []struct {
		name  string
		root  bool                             // needs root (os.Chown)
		setup func(t *testing.T, b bed) string // returns the name to open
		want  error                            // nil, a sentinel or fs.ErrNotExist
		path  func(b bed) string               // the real path the error names
	}{
		{"sound store", false, func(t *testing.T, b bed) string { return "a.toml" }, nil, nil},
		{"sound store folder", false, func(t *testing.T, b bed) string { return "." }, nil, nil},
		{"file writable by others", false, func(t *testing.T, b bed) string {
			must(t, os.Chmod(filepath.Join(b.store, "a.toml"), 0o666))
			return "a.toml"
		}, ErrWritableByOthers, func(b bed) string { return filepath.Join(b.store, "a.toml") }},
		{"sticky file writable by others", false, func(t *testing.T, b bed) string {
			must(t, os.Chmod(filepath.Join(b.store, "a.toml"), 0o666|fs.ModeSticky))
			return "a.toml"
		}, ErrWritableByOthers, func(b bed) string { return filepath.Join(b.store, "a.toml") }},
		{"store folder writable by others", false, func(t *testing.T, b bed) string {
			must(t, os.Chmod(b.store, 0o777))
			return "a.toml"
		}, ErrWritableByOthers, func(b bed) string { return b.store }},
		{"sticky store folder writable by others", false, func(t *testing.T, b bed) string {
			must(t, os.Chmod(b.store, 0o777|fs.ModeSticky))
			return "a.toml"
		}, nil, nil},
		{"parent writable by others", false, func(t *testing.T, b bed) string {
			must(t, os.Chmod(b.parent, 0o777))
			return "a.toml"
		}, ErrWritableByOthers, func(b bed) string { return b.parent }},
		{"parent writable by others, read as the store folder", false, func(t *testing.T, b bed) string {
			must(t, os.Chmod(b.parent, 0o777))
			return "."
		}, ErrWritableByOthers, func(b bed) string { return b.parent }},
		{"sticky parent writable by others", false, func(t *testing.T, b bed) string {
			must(t, os.Chmod(b.parent, 0o777|fs.ModeSticky))
			return "a.toml"
		}, nil, nil},
		{"symlink into a folder writable by others", false, func(t *testing.T, b bed) string {
			w := filepath.Join(b.elsewhere, "w")
			write(t, filepath.Join(w, "b.toml"), "b")
			must(t, os.Chmod(w, 0o777))
			must(t, os.Symlink(filepath.Join(w, "b.toml"), filepath.Join(b.store, "b.toml")))
			return "b.toml"
		}, ErrWritableByOthers, func(b bed) string { return filepath.Join(b.elsewhere, "w") }},
		{"symlink into a sticky folder writable by others", false, func(t *testing.T, b bed) string {
			w := filepath.Join(b.elsewhere, "w")
			write(t, filepath.Join(w, "b.toml"), "b")
			must(t, os.Chmod(w, 0o777|fs.ModeSticky))
			must(t, os.Symlink(filepath.Join(w, "b.toml"), filepath.Join(b.store, "b.toml")))
			return "b.toml"
		}, nil, nil},
		{"symlink to a file writable by others", false, func(t *testing.T, b bed) string {
			write(t, filepath.Join(b.elsewhere, "b.toml"), "b")
			must(t, os.Chmod(filepath.Join(b.elsewhere, "b.toml"), 0o646))
			must(t, os.Symlink(filepath.Join(b.elsewhere, "b.toml"), filepath.Join(b.store, "b.toml")))
			return "b.toml"
		}, ErrWritableByOthers, func(b bed) string { return filepath.Join(b.elsewhere, "b.toml") }},
		{"relative symlink up and into a folder writable by others", false, func(t *testing.T, b bed) string {
			w := filepath.Join(b.parent, "w")
			write(t, filepath.Join(w, "b.toml"), "b")
			must(t, os.Chmod(w, 0o777))
			must(t, os.Symlink("../w/b.toml", filepath.Join(b.store, "b.toml")))
			return "b.toml"
		}, ErrWritableByOthers, func(b bed) string { return filepath.Join(b.parent, "w") }},
		{"folder symlink into a folder writable by others", false, func(t *testing.T, b bed) string {
			w := filepath.Join(b.elsewhere, "certs")
			write(t, filepath.Join(w, "root.pem"), "pem")
			must(t, os.Chmod(w, 0o777))
			must(t, os.Symlink(w, filepath.Join(b.store, "certs")))
			return "certs/root.pem"
		}, ErrWritableByOthers, func(b bed) string { return filepath.Join(b.elsewhere, "certs") }},
		{"a link on the way held in a folder writable by others", false, func(t *testing.T, b bed) string {
			// b.toml -> w/hop.toml -> sound/b.toml: the real file's folders
			// are sound, but whoever can write w can repoint hop.toml.
			w, sound := filepath.Join(b.elsewhere, "w"), filepath.Join(b.elsewhere, "sound")
			write(t, filepath.Join(sound, "b.toml"), "b")
			must(t, os.MkdirAll(w, 0o755))
			must(t, os.Symlink(filepath.Join(sound, "b.toml"), filepath.Join(w, "hop.toml")))
			must(t, os.Chmod(w, 0o777))
			must(t, os.Symlink(filepath.Join(w, "hop.toml"), filepath.Join(b.store, "b.toml")))
			return "b.toml"
		}, ErrWritableByOthers, func(b bed) string { return filepath.Join(b.elsewhere, "w") }},
		{"ConfigMap layout", false, func(t *testing.T, b bed) string {
			configMap(t, b.store, 0o755)
			return "corp.toml"
		}, nil, nil},
		{"ConfigMap with its data folder writable by others", false, func(t *testing.T, b bed) string {
			configMap(t, b.store, 0o777)
			return "corp.toml"
		}, ErrWritableByOthers, func(b bed) string { return filepath.Join(b.store, "..2026_01_02_03_04_05.000000001") }},
		{"missing file in a folder writable by others", false, func(t *testing.T, b bed) string {
			must(t, os.Mkdir(filepath.Join(b.store, "managed"), 0o755))
			must(t, os.Chmod(filepath.Join(b.store, "managed"), 0o777))
			return "managed/known_hosts"
		}, ErrWritableByOthers, func(b bed) string { return filepath.Join(b.store, "managed") }},
		{"missing file", false, func(t *testing.T, b bed) string { return "managed/known_hosts" }, fs.ErrNotExist, nil},
		{"dangling symlink", false, func(t *testing.T, b bed) string {
			must(t, os.Symlink("gone.toml", filepath.Join(b.store, "b.toml")))
			return "b.toml"
		}, fs.ErrNotExist, nil},
		{"file owned by another user", true, func(t *testing.T, b bed) string {
			must(t, os.Chown(filepath.Join(b.store, "a.toml"), otherUID, otherUID))
			return "a.toml"
		}, ErrOwnedByOther, func(b bed) string { return filepath.Join(b.store, "a.toml") }},
		{"store folder owned by another user", true, func(t *testing.T, b bed) string {
			must(t, os.Chown(b.store, otherUID, otherUID))
			return "a.toml"
		}, ErrOwnedByOther, func(b bed) string { return b.store }},
		{"parent owned by another user", true, func(t *testing.T, b bed) string {
			must(t, os.Chown(b.parent, otherUID, otherUID))
			return "."
		}, ErrOwnedByOther, func(b bed) string { return b.parent }},
		{"symlink to a file owned by another user", true, func(t *testing.T, b bed) string {
			write(t, filepath.Join(b.elsewhere, "b.toml"), "b")
			must(t, os.Chown(filepath.Join(b.elsewhere, "b.toml"), otherUID, otherUID))
			must(t, os.Symlink(filepath.Join(b.elsewhere, "b.toml"), filepath.Join(b.store, "b.toml")))
			return "b.toml"
		}, ErrOwnedByOther, func(b bed) string { return filepath.Join(b.elsewhere, "b.toml") }},
		{"symlink owned by another user to a sound file", true, func(t *testing.T, b bed) string {
			// A link's own owner and mode mean nothing: only its folder can
			// change it.
			must(t, os.Symlink("a.toml", filepath.Join(b.store, "b.toml")))
			must(t, os.Lchown(filepath.Join(b.store, "b.toml"), otherUID, otherUID))
			return "b.toml"
		}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root {
				needRoot(t)
			}
			b := newBed(t)
			name := tt.setup(t, b)
			d := Dir(b.store)
			_, err := d.Stat(name)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Stat(%s): %v, want it accepted", name, err)
				}
				if name != "." {
					if _, err := ReadFile(d, name, 1<<10); err != nil {
						t.Fatalf("ReadFile(%s): %v, want it read", name, err)
					}
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Stat(%s): %v, want %v", name, err, tt.want)
			}
			if _, err2 := d.Open(name); !errors.Is(err2, tt.want) {
				t.Fatalf("Open(%s): %v, want %v", name, err2, tt.want)
			}
			if tt.path == nil {
				return
			}
			var pe *fs.PathError
			if !errors.As(err, &pe) || pe.Path != tt.path(b) {
				t.Fatalf("Stat(%s): %v, want a *fs.PathError naming %s", name, err, tt.path(b))
			}
			fix := "chmod o-w " + tt.path(b)
			if tt.want == ErrOwnedByOther {
				fix = "chown"
			}
			if !strings.Contains(err.Error(), fix) {
				t.Errorf("Stat(%s): %q, want the fix %q in it", name, err, fix)
			}
		})
	}
}

// A store folder named through a symbolic link is refused when the folder
// holding the link is writable by others: the link could be repointed.
func TestDirStoreThroughALink(t *testing.T) {
	b := newBed(t)
	link := filepath.Join(b.elsewhere, "link")
	must(t, os.Symlink(b.store, link))
	if _, err := ReadFile(Dir(link), "a.toml", 10); err != nil {
		t.Fatalf("sound: %v", err)
	}
	must(t, os.Chmod(b.elsewhere, 0o777))
	var pe *fs.PathError
	if _, err := ReadFile(Dir(link), "a.toml", 10); !errors.Is(err, ErrWritableByOthers) || !errors.As(err, &pe) || pe.Path != b.elsewhere {
		t.Fatalf("link in a folder writable by others: %v, want %s refused", err, b.elsewhere)
	}
}

// configMap lays out dir as kubelet mounts a ConfigMap: a timestamped data
// folder of the given mode, "..data" linked to it, and the files at the
// top level linked into "..data".
func configMap(t *testing.T, dir string, mode fs.FileMode) {
	ts := filepath.Join(dir, "..2026_01_02_03_04_05.000000001")
	write(t, filepath.Join(ts, "corp.toml"), "corp")
	must(t, os.Chmod(ts, mode))
	must(t, os.Symlink(filepath.Base(ts), filepath.Join(dir, "..data")))
	must(t, os.Symlink("..data/corp.toml", filepath.Join(dir, "corp.toml")))
}

// One guard lives as long as its policy and reads certificates lazily:
// after a ConfigMap swaps "..data" to a new folder, it reads the new data,
// and checks the new folder.
func TestDirFollowsAConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	configMap(t, dir, 0o755)
	d := Dir(dir)
	if data, err := ReadFile(d, "corp.toml", 10); err != nil || string(data) != "corp" {
		t.Fatalf("before the swap: %q, %v", data, err)
	}
	old := filepath.Join(dir, "..2026_01_02_03_04_05.000000001")
	ts := filepath.Join(dir, "..2026_01_02_03_04_06.000000001")
	write(t, filepath.Join(ts, "corp.toml"), "new")
	must(t, os.Symlink(filepath.Base(ts), filepath.Join(dir, "..data_tmp")))
	must(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	must(t, os.RemoveAll(old))
	if data, err := ReadFile(d, "corp.toml", 10); err != nil || string(data) != "new" {
		t.Fatalf("after the swap: %q, %v", data, err)
	}
	ts2 := filepath.Join(dir, "..2026_01_02_03_04_07.000000001")
	write(t, filepath.Join(ts2, "corp.toml"), "bad")
	must(t, os.Chmod(ts2, 0o777))
	must(t, os.Symlink(filepath.Base(ts2), filepath.Join(dir, "..data_tmp")))
	must(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	if _, err := ReadFile(d, "corp.toml", 10); !errors.Is(err, ErrWritableByOthers) {
		t.Fatalf("swapped to a folder writable by others: %v, want ErrWritableByOthers", err)
	}
}

// A file the process's own user owns is accepted, as is one root owns;
// one of a third user is refused.
func TestDirOwners(t *testing.T) {
	needRoot(t)
	tests := []struct {
		owner int
		want  error
	}{
		{0, nil}, {otherUID, nil}, {otherUID + 1, ErrOwnedByOther},
	}
	for _, tt := range tests {
		b := newBed(t)
		must(t, os.Chown(filepath.Join(b.store, "a.toml"), tt.owner, tt.owner))
		d := Dir(b.store)
		d.euid = otherUID // as if the process ran as otherUID
		if _, err := ReadFile(d, "a.toml", 10); !errors.Is(err, tt.want) {
			t.Errorf("a.toml owned by uid %d, process uid %d: %v, want %v", tt.owner, otherUID, err, tt.want)
		}
	}
}

// What is neither a regular file nor a folder is refused before it is
// opened, and a symbolic link loop is an error, never a hang.
func TestDirRefusesSpecialFiles(t *testing.T) {
	b := newBed(t)
	must(t, syscall.Mkfifo(filepath.Join(b.store, "pipe.toml"), 0o644))
	must(t, os.Symlink("loop.toml", filepath.Join(b.store, "loop.toml")))
	must(t, os.Symlink("a.toml/x", filepath.Join(b.store, "notdir.toml")))
	tests := []struct {
		name string
		want string
	}{
		{"pipe.toml", "pipe.toml: not a regular file"},
		{"loop.toml", "too many levels of symbolic links"},
		{"notdir.toml", "not a directory"},
		{"a.toml/x", "not a directory"},
		{"../a.toml", "invalid argument"},
		{"/a.toml", "invalid argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadFile(Dir(b.store), tt.name, 10)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadFile(%s): %v, want an error containing %q", tt.name, err, tt.want)
			}
		})
	}
}

// A file replaced between its check and its opening is refused.
func TestDirOpenRefusesAReplacedFile(t *testing.T) {
	b := newBed(t)
	real, st, err := Dir(b.store).resolve("open", "a.toml")
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(b.store, "a.toml.new"), "b")
	must(t, os.Rename(filepath.Join(b.store, "a.toml.new"), real))
	if f, err := openSame(real, st); err == nil || !strings.Contains(err.Error(), "replaced while it was being checked") {
		if f != nil {
			f.Close()
		}
		t.Fatalf("openSame: %v, want the replaced file refused", err)
	}
}

// On a sound tree, walk resolves a name as filepath.EvalSymlinks does,
// whatever link it meets on the way: the fuzzer picks the target of the
// link "fz" and the name opened through it.
func FuzzWalk(f *testing.F) {
	root := f.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "a", "b"), 0o755); err != nil {
		f.Fatal(err)
	}
	for name, target := range map[string]string{
		"l1": "a", "l2": filepath.Join(root, "a", "b"), "l3": "../" + filepath.Base(root) + "/a",
		"loop": "loop", "chain": "l1/b", "up": "..", "fl": "a/f", "dangling": "gone",
	} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			f.Fatal(err)
		}
	}
	for _, name := range []string{"a/f", "a/b/g"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(name), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	for _, seed := range [][2]string{
		{"a", "f"}, {"l1", "b/g"}, {"l2", "g"}, {"l3", "f"}, {"chain", "g"}, {"up", "."},
		{"up/" + filepath.Base(root) + "/l1", "f"}, {"loop", "."}, {"fl", "."}, {"fl", "x"},
		{"a/f/", "."}, {"dangling", "."}, {"/", "."}, {root + "/../..", "."}, {"a//b/./g", "."},
		{"l1/../fl", "."}, {"./l2/../f", "."},
	} {
		f.Add(seed[0], seed[1])
	}
	d := Dir(root)
	link := filepath.Join(root, "fz")
	f.Fuzz(func(t *testing.T, target, name string) {
		if !fs.ValidPath(name) || target == "" || len(target) > 256 || strings.ContainsRune(target, 0) {
			return
		}
		os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			return
		}
		p := filepath.Join(link, name)
		got, _, err := d.walk(p)
		if errors.Is(err, ErrWritableByOthers) || errors.Is(err, ErrOwnedByOther) {
			return // the target left the sound tree
		}
		want, werr := filepath.EvalSymlinks(p)
		if (err == nil) != (werr == nil) || got != want {
			t.Fatalf("walk(%s) with fz -> %q: %q, %v; filepath.EvalSymlinks: %q, %v", p, target, got, err, want, werr)
		}
	})
}
