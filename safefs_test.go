//go:build unix

package httptrust

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
)

// otherUID owns the files of the tests that need another user.
const otherUID = 12345

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: giving a file to another user (os.Chown) needs root; run the tests as root to cover ownership")
	}
}

const corpRule = "[[rule]]\nhosts = [\"a.test\"]\nanchors = [\"root.pem\"]\n"

// A store whose rule file or certificate is a symbolic link into a folder
// any user may write is refused, naming that folder; a sticky folder (like
// /tmp) is accepted.
func TestStoreSymlinkIntoWorldWritableFolderRefused(t *testing.T) {
	l := newLab(t)
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "a.test")), "a.test")
	tests := []struct {
		name   string
		linked string // the store file that is a link into the folder
		mode   fs.FileMode
		atLoad bool // refused by LoadDir (else by the handshake)
	}{
		{"rule file", "corp.toml", 0o777, true},
		{"certificate", "root.pem", 0o777, false},
		{"rule file, sticky folder", "corp.toml", 0o777 | fs.ModeSticky, false},
		{"certificate, sticky folder", "root.pem", 0o777 | fs.ModeSticky, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, shared := t.TempDir(), filepath.Join(t.TempDir(), "shared")
			files := map[string]string{"corp.toml": corpRule, "root.pem": string(l.pki.Root.CertPEM())}
			for name, data := range files {
				at := filepath.Join(dir, name)
				if name == tt.linked {
					at = filepath.Join(shared, name)
					must(t, os.Symlink(at, filepath.Join(dir, name)))
				}
				writeFile(t, at, data)
			}
			must(t, os.Chmod(shared, tt.mode))
			p, err := LoadDir(dir, l.opts())
			sticky := tt.mode&fs.ModeSticky != 0
			switch {
			case tt.atLoad:
				if !errors.Is(err, ErrWritableByOthers) || !strings.Contains(err.Error(), "chmod o-w "+shared) {
					t.Fatalf("LoadDir: %v, want %s refused (ErrWritableByOthers, chmod o-w %s)", err, tt.linked, shared)
				}
				return
			case err != nil:
				t.Fatalf("LoadDir: %v", err)
			case sticky:
				wantOK(t, l.client(p), at(s, "a.test"))
				return
			}
			e := wantReason(t, l.client(p), at(s, "a.test"), ReasonBadConfig)
			if !errors.Is(e, ErrWritableByOthers) {
				t.Errorf("the refusal %v does not wrap ErrWritableByOthers", e)
			}
			mustContain(t, "detail", e.Detail, "root.pem", "writable by others", "chmod o-w "+shared)
			if err := p.Validate(); !errors.Is(err, ErrWritableByOthers) {
				t.Errorf("Validate: %v, want ErrWritableByOthers", err)
			}
		})
	}
}

// A store whose parent folder any user may write is refused (they could
// rename the store away and put their own in its place), unless the parent
// is sticky, as /tmp is.
func TestStoreParentWritableByOthers(t *testing.T) {
	l := newLab(t)
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "a.test")), "a.test")
	for _, tt := range []struct {
		mode fs.FileMode
		want error
	}{
		{0o755, nil}, {0o777, ErrWritableByOthers}, {0o777 | fs.ModeSticky, nil}, {0o757, ErrWritableByOthers},
	} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "store")
			writeFile(t, filepath.Join(dir, "corp.toml"), corpRule)
			writeFile(t, filepath.Join(dir, "root.pem"), string(l.pki.Root.CertPEM()))
			must(t, os.Chmod(parent, tt.mode))
			p, err := LoadDir(dir, l.opts())
			if tt.want == nil {
				if err != nil {
					t.Fatalf("LoadDir: %v", err)
				}
				wantOK(t, l.client(p), at(s, "a.test"))
				return
			}
			var pe *fs.PathError
			if !errors.Is(err, tt.want) || !errors.As(err, &pe) || pe.Path != parent || !strings.Contains(err.Error(), "chmod o-w "+parent) {
				t.Fatalf("LoadDir: %v, want %s refused (%v)", err, parent, tt.want)
			}
		})
	}
}

// A store file or folder owned by another user than the process's is
// refused, wherever a link puts it; one owned by root is accepted.
func TestStoreOwnedByOtherRefused(t *testing.T) {
	needRoot(t)
	l := newLab(t)
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "a.test")), "a.test")
	tests := []struct {
		name   string
		owned  string // relative to the store; "shared/…" is reached by a link
		owner  int
		atLoad bool
	}{
		{"rule file", "corp.toml", otherUID, true},
		{"store folder", ".", otherUID, true},
		{"certificate", "root.pem", otherUID, false},
		{"certificate through a link", "shared/root.pem", otherUID, false},
		{"folder reached through a link", "shared", otherUID, false},
		{"root-owned rule file", "corp.toml", 0, false},
		{"root-owned store folder", ".", 0, false},
		{"root-owned certificate through a link", "shared/root.pem", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, elsewhere := t.TempDir(), t.TempDir()
			writeFile(t, filepath.Join(dir, "corp.toml"), corpRule)
			pem := filepath.Join(dir, "root.pem")
			if strings.HasPrefix(tt.owned, "shared") {
				pem = filepath.Join(elsewhere, "shared", "root.pem")
				must(t, os.Symlink(pem, filepath.Join(dir, "root.pem")))
			}
			writeFile(t, pem, string(l.pki.Root.CertPEM()))
			owned := filepath.Join(dir, tt.owned)
			if strings.HasPrefix(tt.owned, "shared") {
				owned = filepath.Join(elsewhere, tt.owned)
			}
			must(t, os.Chown(owned, tt.owner, tt.owner))
			p, err := LoadDir(dir, l.opts())
			switch {
			case tt.atLoad:
				if !errors.Is(err, ErrOwnedByOther) || !strings.Contains(err.Error(), "chown") {
					t.Fatalf("LoadDir: %v, want %s refused (ErrOwnedByOther, chown)", err, tt.owned)
				}
				return
			case err != nil:
				t.Fatalf("LoadDir: %v", err)
			case tt.owner == 0:
				wantOK(t, l.client(p), at(s, "a.test"))
				return
			}
			e := wantReason(t, l.client(p), at(s, "a.test"), ReasonBadConfig)
			if !errors.Is(e, ErrOwnedByOther) {
				t.Errorf("the refusal %v does not wrap ErrOwnedByOther", e)
			}
			mustContain(t, "detail", e.Detail, "root.pem", "owned by another user", owned)
		})
	}
}

// The mode bits of a file system that is not the OS's (embed.FS,
// fstest.MapFS) mean nothing and are not checked; a FIFO in one is still
// refused.
func TestLoadFSModesOfOtherFileSystemsNotChecked(t *testing.T) {
	l := newLab(t)
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "a.test")), "a.test")
	fsys := fstest.MapFS{
		".":         {Mode: fs.ModeDir | 0o777},
		"corp.toml": {Data: []byte(corpRule), Mode: 0o666},
		"root.pem":  {Data: l.pki.Root.CertPEM(), Mode: 0o666},
		"managed":   {Mode: fs.ModeDir | 0o777},
	}
	p, err := LoadFS(fsys, l.opts())
	if err != nil {
		t.Fatal(err)
	}
	wantOK(t, l.client(p), at(s, "a.test"))

	fsys["pipe.toml"] = &fstest.MapFile{Mode: fs.ModeNamedPipe | 0o644}
	if _, err := LoadFS(fsys, l.opts()); err == nil || !strings.Contains(err.Error(), "pipe.toml: not a regular file") {
		t.Fatalf("LoadFS with a FIFO: %v, want it refused", err)
	}
}

// An os.DirFS given to LoadFS or Options.FS is checked as LoadDir checks
// its folder, symbolic links and parents included.
func TestLoadFSChecksAnOSDirFS(t *testing.T) {
	l := newLab(t)
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "a.test")), "a.test")
	dir, shared := t.TempDir(), filepath.Join(t.TempDir(), "shared")
	writeFile(t, filepath.Join(dir, "corp.toml"), corpRule)
	writeFile(t, filepath.Join(shared, "root.pem"), string(l.pki.Root.CertPEM()))
	must(t, os.Symlink(filepath.Join(shared, "root.pem"), filepath.Join(dir, "root.pem")))
	must(t, os.Chmod(shared, 0o777))

	p, err := LoadFS(os.DirFS(dir), l.opts())
	if err != nil {
		t.Fatal(err)
	}
	e := wantReason(t, l.client(p), at(s, "a.test"), ReasonBadConfig)
	mustContain(t, "LoadFS(os.DirFS) detail", e.Detail, "writable by others", shared)

	o := l.opts()
	o.FS = os.DirFS(dir)
	p = mustPolicy(t, []Rule{{Hosts: []string{"a.test"}, Anchors: []string{"root.pem"}}}, o)
	e = wantReason(t, l.client(p), at(s, "a.test"), ReasonBadConfig)
	mustContain(t, "Options.FS = os.DirFS detail", e.Detail, "writable by others", shared)
}

// A Kubernetes ConfigMap mount passes, but not one whose timestamped data
// folder others may write.
func TestLoadDirKubernetesDataFolderChecked(t *testing.T) {
	for _, tt := range []struct {
		mode fs.FileMode
		want error
	}{{0o755, nil}, {0o777, ErrWritableByOthers}} {
		dir := t.TempDir()
		ts := filepath.Join(dir, "..2026_11_28_12_00_00.000000001")
		writeFile(t, filepath.Join(ts, "corp.toml"), "[[rule]]\nhosts = [\"a.test\"]\n")
		must(t, os.Chmod(ts, tt.mode))
		must(t, os.Symlink(filepath.Base(ts), filepath.Join(dir, "..data")))
		must(t, os.Symlink("..data/corp.toml", filepath.Join(dir, "corp.toml")))
		if _, err := LoadDir(dir, nil); !errors.Is(err, tt.want) {
			t.Errorf("data folder %v: LoadDir: %v, want %v", tt.mode, err, tt.want)
		}
	}
}

// A password file named relative to the store is guarded like the rest.
func TestStorePasswordFileChecked(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "pw.txt"), "secret\n")
	p, err := LoadDir(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := &ClientRef{PasswordFile: "pw.txt", Rule: &Rule{File: "corp.toml"}}
	if pw, err := p.password(ref); err != nil || pw != "secret" {
		t.Fatalf("password: %q, %v", pw, err)
	}
	must(t, os.Chmod(filepath.Join(dir, "pw.txt"), 0o666))
	if _, err := p.password(ref); !errors.Is(err, ErrWritableByOthers) {
		t.Fatalf("password file writable by others: %v, want ErrWritableByOthers", err)
	}
	must(t, syscall.Mkfifo(filepath.Join(dir, "pipe.txt"), 0o600))
	ref.PasswordFile = "pipe.txt"
	if _, err := p.password(ref); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("password file is a FIFO: %v, want it refused", err)
	}
}
