package certs

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// Sentinel errors, matched with errors.Is. Most come wrapped in a
// *FileError that says where the problem is.
var (
	// ErrNoCertificates means the input held no certificate at all.
	ErrNoCertificates = errors.New("certs: no certificate found")
	// ErrNotCertificate means a block or file is something other than a
	// certificate (a key, a CSR, a CRL, a public key...).
	ErrNotCertificate = errors.New("certs: not a certificate")
	// ErrNoKey means the input holds no private key, public key or
	// certificate request where ParsePublicKeys looked for one.
	ErrNoKey = errors.New("certs: no private key, public key or certificate request")
	// ErrNotPrivateKey means a block or file is something other than a
	// private key where one was expected.
	ErrNotPrivateKey = errors.New("certs: not a private key")
	// ErrTruncated means DER or PEM data is cut short or garbled.
	ErrTruncated = errors.New("certs: truncated or garbled data")
	// ErrTooLarge means the input is larger than MaxFileSize.
	ErrTooLarge = errors.New("certs: input too large")
	// ErrPasswordRequired means an encrypted key or PKCS#12 file needs a
	// password and none was given.
	ErrPasswordRequired = errors.New("certs: password required")
	// ErrWrongPassword means the password given does not decrypt the input.
	ErrWrongPassword = errors.New("certs: wrong password")
	// ErrUnknownFormat means the input is not PEM, DER, PKCS#7 or PKCS#12.
	ErrUnknownFormat = errors.New("certs: not PEM, DER, PKCS#7 or PKCS#12")
	// ErrNotRegularFile means a name given to ReadCertificates or
	// LoadIdentity is a directory, device, pipe or socket.
	ErrNotRegularFile = errors.New("certs: not a regular file")
	// ErrKeyMismatch means a private key does not belong to the
	// certificate it was paired with.
	ErrKeyMismatch = errors.New("certs: key does not match the certificate")
)

// FileError says where in which file what went wrong. Every error the
// reading and parsing functions of this package return is a *FileError,
// except those of ParsePin, ParsePins and ParseFingerprint (a
// *SyntaxError). Messages never contain key material.
type FileError struct {
	File   string // name as given by the caller ("" allowed)
	Block  int    // 1-based PEM block number, 0 when not PEM
	Line   int    // 1-based line where that PEM block starts, 0 when not PEM
	Offset int64  // byte offset of a DER problem (inside the block's DER for PEM), -1 when unknown
	Found  string // what was found, in words: "a PRIVATE KEY", "a certificate request", "text, no PEM block"...
	Err    error  // one of the sentinels of this package, or the underlying error
}

// Error returns the location, what was found and the problem, e.g.
// "certs: printer.pem: block 2 (line 31): a PRIVATE KEY, expected a CERTIFICATE".
func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString("certs: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Block > 0 {
		fmt.Fprintf(&b, "block %d (line %d): ", e.Block, e.Line)
	}
	if e.Offset >= 0 {
		fmt.Fprintf(&b, "byte %d: ", e.Offset)
	}
	b.WriteString(e.Found)
	switch {
	case e.Err == ErrNotCertificate && e.Block > 0:
		b.WriteString(", expected a CERTIFICATE")
	case e.Err == ErrNotCertificate:
		b.WriteString(", not a certificate")
	case e.Err == ErrNotPrivateKey && e.Block > 0:
		b.WriteString(", expected a PRIVATE KEY")
	case e.Err == ErrNotPrivateKey:
		b.WriteString(", not a private key")
	case e.Err == ErrNoKey && e.Block > 0:
		b.WriteString(", expected a key or a certificate request")
	case e.Err == ErrNoKey:
		b.WriteString(", not a key or a certificate request")
	case e.Err != nil:
		if e.Found != "" {
			b.WriteString(": ")
		}
		b.WriteString(problem(e.Err))
	}
	return b.String()
}

// Unwrap returns e.Err.
func (e *FileError) Unwrap() error { return e.Err }

// problem renders err for the end of a FileError message.
func problem(err error) string {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Op + ": " + pe.Err.Error()
	}
	if err == ErrPasswordRequired {
		return "give its password"
	}
	return strings.TrimPrefix(err.Error(), "certs: ")
}

// fileErr builds a FileError with no DER offset.
func fileErr(name, found string, err error) *FileError {
	return &FileError{File: name, Offset: -1, Found: found, Err: err}
}

// blockErr builds a FileError located at a PEM block.
func blockErr(name string, b pemBlock, found string, err error) *FileError {
	return &FileError{File: name, Block: b.num, Line: b.line, Offset: -1, Found: found, Err: err}
}

// structErr turns a structural DER problem into a FileError.
func structErr(name string, found string, d *derError) *FileError {
	return &FileError{File: name, Offset: d.off, Found: found,
		Err: fmt.Errorf("%w: %s", ErrTruncated, d.msg)}
}

// tooLarge is the error for input over MaxFileSize.
func tooLarge(name string, size int64) *FileError {
	return fileErr(name, fmt.Sprintf("%d bytes", size),
		fmt.Errorf("%w: the limit is %d bytes (%d MiB)", ErrTooLarge, MaxFileSize, MaxFileSize>>20))
}

// article prefixes s with "a" or "an" as English would read it; acronyms
// such as "RSA" or "X509" take "an".
func article(s string) string {
	if s == "" {
		return s
	}
	word, _, _ := strings.Cut(s, " ")
	if word == "" {
		return "a " + s
	}
	first := word[0] | 0x20 // lower case for letters
	switch {
	case strings.IndexByte("aeiou", first) >= 0:
		return "an " + s
	case len(word) > 1 && isAcronym(word) && strings.IndexByte("fhlmnrsx", first) >= 0:
		return "an " + s
	}
	return "a " + s
}

// isAcronym reports whether word is spelled letter by letter: upper case,
// and no vowel as its second letter ("RSA", "X509", but not "NEW").
func isAcronym(word string) bool {
	if word != strings.ToUpper(word) {
		return false
	}
	return strings.IndexByte("AEIOU", word[1]) < 0
}
