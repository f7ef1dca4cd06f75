package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
)

// writeResponse writes the body read from body (and with -i the status
// and headers) to stdout or -o FILE, as curl does: binary data is not
// written to a terminal, and a large or slow body that goes to a file or a
// pipe gets a progress meter on stderr when stderr is a terminal.
func (e *env) writeResponse(g *getFlags, resp *http.Response, body io.Reader) error {
	out := e.stdout
	var file *os.File
	if g.output != "" && g.output != "-" {
		f, err := e.createOutput(g)
		if err != nil {
			return err
		}
		defer f.Close()
		out, file = f, f
	}
	if g.include || g.head {
		writeHead(out, resp)
	}
	if g.head {
		return nil
	}
	sink := &writeSide{w: out}
	var dst io.Writer = sink
	if file == nil && g.output == "" && e.terminal(e.stdout) {
		dst = &binaryGuard{w: sink}
	}
	toTerminal := file == nil && e.terminal(e.stdout)
	if !toTerminal && !g.silent && e.terminal(e.stderr) {
		bar := newProgress(e.stderr, resp.ContentLength, e.now, e.getenv("TERM") != "dumb")
		defer bar.finish()
		dst = io.MultiWriter(dst, bar)
	}
	if _, err := io.Copy(dst, body); err != nil {
		if errors.Is(err, errBinaryOutput) {
			return &exitError{code: exitWrite, err: fmt.Errorf("%s: binary output can mess up your terminal; nothing more was written", resp.Request.URL.Redacted()),
				hints: []string{"use --output - to tell httptrust to output it to your terminal anyway, or consider --output FILE to save it to a file"}}
		}
		if sink.err != nil {
			where := "-o " + g.output
			if file == nil {
				where = "stdout"
			}
			return &exitError{code: exitWrite, err: fmt.Errorf("%s: writing the body to %s: %w", resp.Request.URL.Redacted(), where, sink.err)}
		}
		if isTimeout(err) {
			return err
		}
		return &exitError{code: exitRecv, err: fmt.Errorf("%s: reading the body: %w", resp.Request.URL.Redacted(), err)}
	}
	if file != nil {
		if err := file.Close(); err != nil {
			return &exitError{code: exitWrite, err: fmt.Errorf("-o: %w", err)}
		}
	}
	return nil
}

// createOutput creates -o FILE (with --create-dirs, its folders first).
func (e *env) createOutput(g *getFlags) (*os.File, error) {
	dir := filepath.Dir(g.output)
	if g.createDirs {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, &exitError{code: exitWrite, err: fmt.Errorf("--create-dirs: %w", err)}
		}
	}
	f, err := os.Create(g.output)
	if err == nil {
		return f, nil
	}
	var hints []string
	if _, serr := os.Stat(dir); errors.Is(err, fs.ErrNotExist) && errors.Is(serr, fs.ErrNotExist) {
		hints = []string{fmt.Sprintf("the folder %s does not exist: create it first (mkdir -p %s), or add --create-dirs", dir, dir)}
	}
	return nil, &exitError{code: exitWrite, err: fmt.Errorf("-o: %w", err), hints: hints}
}

// errBinaryOutput stops a binary body bound for a terminal.
var errBinaryOutput = errors.New("binary output")

// binaryGuard writes to a terminal until a chunk holds a NUL byte, as curl
// does: binary data would garble the terminal, or drive it.
// writeSide keeps the error of the writer the body goes to, so that a
// failure to write (a full disk, a reader gone: get | head) is told from
// a failure to receive, as curl tells 23 from 56.
type writeSide struct {
	w   io.Writer
	err error
}

func (s *writeSide) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil && s.err == nil {
		s.err = err
	}
	return n, err
}

type binaryGuard struct{ w io.Writer }

func (b *binaryGuard) Write(p []byte) (int, error) {
	if bytes.IndexByte(p, 0) >= 0 {
		return 0, errBinaryOutput
	}
	return b.w.Write(p)
}

// writeHead writes the status line and headers as curl -i does.
func writeHead(w io.Writer, resp *http.Response) {
	printf(w, "%s %s\r\n", resp.Proto, resp.Status)
	keys := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range resp.Header[k] {
			printf(w, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprint(w, "\r\n")
}
