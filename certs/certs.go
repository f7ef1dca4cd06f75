// Package certs reads and writes certificates and keys in every common
// format, and computes fingerprints and SPKI pins.
//
// Input is judged by its bytes, never by its file name: a ".cer" may hold
// PEM or DER, a ".crt" a PKCS#7 bundle. ParseCertificates reads PEM bundles,
// DER certificates, PKCS#7 certs-only bundles (DER, BER or PEM) and PKCS#12
// files; ParsePrivateKey reads PKCS#1, PKCS#8 and SEC1 keys, plain or
// encrypted; LoadIdentity pairs a certificate chain with its key for mutual
// TLS. Describe says, in words, what a file holds when it is not what was
// expected.
//
// Every parsing error is a *FileError that names the file, the PEM block and
// its line or the DER byte offset, what was found there, and wraps one of
// the sentinel errors (ErrNotCertificate, ErrTruncated, ErrPasswordRequired,
// ...) for callers to branch on with errors.Is. Errors never contain key
// material.
//
// Pins (SPKIPin, ParsePin, ParsePins) are SHA-256 hashes of a certificate's
// SubjectPublicKeyInfo, printed in OkHttp's "sha256/<base64>" form;
// fingerprints (CertFingerprint, ParseFingerprint) are SHA-256 hashes of the
// whole certificate.
package certs

import (
	"crypto/x509"
	"fmt"
	"io"
	"io/fs"
)

// MaxFileSize is the largest input accepted, in bytes. Larger input is
// refused with ErrTooLarge.
const MaxFileSize = 4 << 20

// Options holds what parsing may need beyond the bytes. A nil *Options is
// the same as the zero value.
type Options struct {
	// Password returns the password for a PKCS#12 file or an encrypted
	// private key. It is called only when one is needed, at most once per
	// call. nil means no password is available: a PKCS#12 file is then
	// tried with the empty password, and an encrypted key fails with
	// ErrPasswordRequired.
	Password func() (string, error)
}

// password asks opts for the password. ok is false when none is available.
func (o *Options) password() (pw string, ok bool, err error) {
	if o == nil || o.Password == nil {
		return "", false, nil
	}
	pw, err = o.Password()
	if err != nil {
		return "", false, fmt.Errorf("certs: getting its password: %w", err)
	}
	return pw, true, nil
}

// ParseCertificates returns every certificate in data, in the order they
// appear. It reads PEM (text between and around blocks is ignored;
// CERTIFICATE, TRUSTED CERTIFICATE and PKCS7 blocks are read, other blocks
// such as a private key beside the certificates are skipped), a DER
// certificate (or several concatenated), PKCS#7 certs-only bundles and
// PKCS#12 files (which need opts.Password unless they use the empty
// password). name is used only in errors.
//
// It never returns zero certificates without an error: input without any
// certificate fails with ErrNotCertificate (naming the first other block or
// what the file is), ErrNoCertificates or ErrUnknownFormat.
func ParseCertificates(name string, data []byte, opts *Options) ([]*x509.Certificate, error) {
	if len(data) > MaxFileSize {
		return nil, tooLarge(name, int64(len(data)))
	}
	k := classify(data)
	switch k {
	case kindCertificate:
		return parseDERCertificates(name, data)
	case kindPKCS7, kindPKCS7Other:
		return parsePKCS7(name, data, nil)
	case kindPKCS12:
		_, leaf, chain, err := decodePKCS12(name, data, opts)
		if err != nil {
			return nil, err
		}
		if leaf != nil {
			chain = append([]*x509.Certificate{leaf}, chain...)
		}
		return chain, nil
	case kindUnknown:
		if nextBegin(data, 0) >= 0 {
			return parsePEMCertificates(name, data)
		}
		return nil, unknownFormat(name, data)
	}
	return nil, fileErr(name, k.phrase(), ErrNotCertificate)
}

// ReadCertificates reads the file name from fsys and returns the
// certificates in it, as ParseCertificates does. It refuses files larger
// than MaxFileSize and anything that is not a regular file.
func ReadCertificates(fsys fs.FS, name string, opts *Options) ([]*x509.Certificate, error) {
	data, err := readFile(fsys, name)
	if err != nil {
		return nil, err
	}
	return ParseCertificates(name, data, opts)
}

// readFile reads a regular file of at most MaxFileSize bytes from fsys.
func readFile(fsys fs.FS, name string) ([]byte, error) {
	// Stat before opening: opening a FIFO for reading would block.
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, fileErr(name, "", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fileErr(name, fileKind(st.Mode()), ErrNotRegularFile)
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fileErr(name, "", err)
	}
	defer f.Close()
	if st.Size() > MaxFileSize {
		return nil, tooLarge(name, st.Size())
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fileErr(name, "", err)
	}
	if len(data) > MaxFileSize {
		return nil, fileErr(name, fmt.Sprintf("more than %d bytes", MaxFileSize),
			fmt.Errorf("%w: the limit is %d bytes (%d MiB)", ErrTooLarge, MaxFileSize, MaxFileSize>>20))
	}
	return data, nil
}

// fileKind names a non-regular file mode.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "an irregular file"
}
