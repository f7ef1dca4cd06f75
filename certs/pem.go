package certs

import (
	"bytes"
	"encoding/pem"
	"fmt"
)

// pemBlock is a decoded PEM block and where it stands in its file.
type pemBlock struct {
	*pem.Block
	num  int // 1-based block number
	line int // 1-based line of its BEGIN line
}

const beginMarker = "-----BEGIN "

var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// nextBegin returns the offset of the next line at or after from that starts
// with "-----BEGIN ", or -1.
func nextBegin(data []byte, from int) int {
	for from < len(data) {
		i := bytes.Index(data[from:], []byte(beginMarker))
		if i < 0 {
			return -1
		}
		i += from
		if i == 0 || data[i-1] == '\n' || (i == len(utf8BOM) && bytes.HasPrefix(data, utf8BOM)) {
			return i
		}
		from = i + 1
	}
	return -1
}

// lineEnd returns the offset just past the end of the line holding data[i]
// (past its '\n', or len(data)).
func lineEnd(data []byte, i int) int {
	j := bytes.IndexByte(data[i:], '\n')
	if j < 0 {
		return len(data)
	}
	return i + j + 1
}

// scanPEM returns every PEM block in data, in order, with its number and
// line. Text around the blocks is ignored. A BEGIN line without its END
// line, or a block whose base64 or headers do not decode, is an error
// located at that block (the returned FileError has no File yet); the
// blocks before it are returned with it.
func scanPEM(data []byte) ([]pemBlock, *FileError) {
	var blocks []pemBlock
	pos, line, num := 0, 1, 0
	for {
		i := nextBegin(data, pos)
		if i < 0 {
			return blocks, nil
		}
		line += bytes.Count(data[pos:i], []byte{'\n'})
		num++
		at := pemBlock{num: num, line: line}
		end, ferr := findEnd(data, i, at)
		if ferr != nil {
			return blocks, ferr
		}
		b, _ := pem.Decode(data[i:end])
		if b == nil {
			typ, _ := beginType(data, i)
			return blocks, blockErr("", at, article(typ),
				fmt.Errorf("%w: the text between its BEGIN and END lines is not valid base64", ErrTruncated))
		}
		at.Block = b
		blocks = append(blocks, at)
		line += bytes.Count(data[i:end], []byte{'\n'})
		pos = end
	}
}

// beginType returns the type named by the BEGIN line at data[i:] and
// whether that line is well formed ("-----BEGIN TYPE-----").
func beginType(data []byte, i int) (string, bool) {
	l := bytes.TrimRight(data[i+len(beginMarker):lineEnd(data, i)], " \t\r\n")
	t, ok := bytes.CutSuffix(l, []byte("-----"))
	if !ok {
		return string(clip(l, 40)), false
	}
	return string(t), true
}

// findEnd returns the offset just past the END line that closes the block
// whose BEGIN line is at data[i:].
func findEnd(data []byte, i int, at pemBlock) (int, *FileError) {
	typ, ok := beginType(data, i)
	if !ok {
		return 0, blockErr("", at, fmt.Sprintf("a BEGIN line %q", beginMarker+typ), fmt.Errorf(
			"%w: the BEGIN line must end with five dashes", ErrTruncated))
	}
	marker := []byte("\n-----END " + typ + "-----")
	j := bytes.Index(data[i:], marker)
	next := nextBegin(data, lineEnd(data, i))
	if j < 0 || (next >= 0 && next < i+j) {
		return 0, blockErr("", at, article(typ), fmt.Errorf(
			"%w: no \"-----END %s-----\" line follows (the file may be cut short)", ErrTruncated, typ))
	}
	return lineEnd(data, i+j+1), nil
}

// clip shortens b to at most n bytes.
func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// PEM block types by role.
var (
	pemCertTypes  = map[string]bool{"CERTIFICATE": true, "X509 CERTIFICATE": true, "X.509 CERTIFICATE": true}
	pemPKCS7Types = map[string]bool{"PKCS7": true, "PKCS #7 SIGNED DATA": true, "CMS": true}
	pemKeyTypes   = map[string]bool{"PRIVATE KEY": true, "RSA PRIVATE KEY": true, "EC PRIVATE KEY": true,
		"ENCRYPTED PRIVATE KEY": true}
)
