// Package storewatch lets a process that starts for one request, as the
// CLI does, know that none of a large store's rule files changed since
// another process checked them, without statting each one.
//
// A watcher (Serve, one process per store, started by the first process
// that needs it and gone after a while without questions from its user)
// holds inotify watches on the store's folder, its managed folder and
// every regular file in them, each looked up relative to the folders it
// holds open (a folder above the store renamed changes nothing it looks
// at). Every event it is told of (a write, a change of mode, owner or
// times, a file created, removed or renamed, a lost event) adds one to
// its count of changes; a mount or unmount anywhere ends it (a file system
// mounted over a file of the store hides it from every watch). It holds
// one descriptor per file, so a store of more files than the open-file
// limit leaves room for is not served. Asked (Query), it first reads every
// event already queued — the kernel queues an event before the write
// that causes it returns — and answers with its identity and count: the
// Token.
//
// Writes through a shared mapping, native AIO or io_uring raise no event
// until the writer's file is released. A file open for writing or mapped
// writable when the watcher starts (a read lease tells), or written and
// closed since, makes every answer new (no record can match one) until
// it is found free; and the watcher stats its files (by descriptor,
// whatever their names) before an answer when it last did more than two
// seconds before, and every two seconds while questions come, and counts
// any change: a writer that opens a file after the start and changes it
// only so is seen by every question more than two seconds after the
// change, every other change by the very next. A watcher that cannot take
// leases (fs.leases-enable=0, files of another user) does not serve.
//
// A process that statted every file after asking, and found them as its
// index recorded them, keeps the token beside the index; a later process
// that is given the same token knows that no file changed since, and
// stats only what the watcher does not cover (the folders, and rule files
// that are symbolic links). Any doubt — no watcher, another watcher, a
// count that moved, an answer not from this user — means statting every
// file, as without a watcher: a watcher only ever saves time.
//
// The watcher answers on an abstract Unix socket named after the user,
// the mount namespace, the store's path and its folder's device and
// inode, and is believed only when the kernel says it runs as the same
// user; another user's questions get no answer and keep it no longer.
// It serves only stores on file systems whose changes all pass through
// this kernel (ext4, XFS, Btrfs, tmpfs, F2FS, ZFS), never a network or
// FUSE file system, where another machine's write raises no event here.
package storewatch

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Command is the argument that makes the httptrust binary serve as a
// watcher: httptrust __watch-store DIR.
const Command = "__watch-store"

// proto starts every answer.
const proto = "httptrust-watch 1"

// Token is a watcher's identity and its count of changes at one moment.
// Two equal tokens mean no change in between.
type Token struct {
	ID  [16]byte
	Gen uint64
}

// String is the token as kept beside an index: "id:gen".
func (t Token) String() string {
	return hex.EncodeToString(t.ID[:]) + ":" + strconv.FormatUint(t.Gen, 10)
}

// ParseToken reads what String wrote.
func ParseToken(s string) (Token, bool) {
	id, gen, ok := strings.Cut(s, ":")
	var t Token
	if !ok || len(id) != 32 {
		return t, false
	}
	if _, err := hex.Decode(t.ID[:], []byte(id)); err != nil {
		return t, false
	}
	g, err := strconv.ParseUint(gen, 10, 64)
	if err != nil {
		return t, false
	}
	t.Gen = g
	return t, true
}

// answer is what a watcher writes to each client.
func answer(t Token, dev, ino uint64) string {
	return fmt.Sprintf("%s %x %d %d %d\n", proto, t.ID, t.Gen, dev, ino)
}

// parseAnswer reads an answer, for the store folder dev, ino.
func parseAnswer(s string, dev, ino uint64) (Token, error) {
	var t Token
	line, ok := strings.CutSuffix(s, "\n")
	f := strings.Fields(line)
	if !ok || len(f) != 6 || f[0]+" "+f[1] != proto {
		return t, fmt.Errorf("storewatch: not a watcher's answer: %q", s)
	}
	t, ok = ParseToken(f[2] + ":" + f[3])
	if !ok {
		return t, fmt.Errorf("storewatch: bad token in %q", s)
	}
	if f[4] != strconv.FormatUint(dev, 10) || f[5] != strconv.FormatUint(ino, 10) {
		return Token{}, fmt.Errorf("storewatch: the watcher watches another folder")
	}
	return t, nil
}
