package main

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/mint"
)

// defaultBackupKey is the file --key-only writes without --key-file.
const defaultBackupKey = "backup-key.pem"

// mintKeyView is the key pair --key-only made.
type mintKeyView struct {
	File string `json:"file"`
	Type string `json:"type"`
	Pin  string `json:"pin"`
}

// mintKey makes a key pair for a backup pin, writes the private key to a
// new file (0600, never over an existing one) and prints its pin.
func (e *env) mintKey(f *mintFlags, kt mint.KeyType) error {
	path := f.keyFile
	if path == "" {
		path = filepath.Join(f.out, defaultBackupKey)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return &exitError{code: exitWrite, err: err}
	}
	key, err := mint.NewKey(kt)
	if err != nil {
		return err
	}
	pin, err := keyPin(key.Public())
	if err != nil {
		return err
	}
	if err := mint.WriteKey(path, key); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return &exitError{code: exitWrite, err: err,
				hints: []string{"a key is never overwritten (its pin may be published already): give another --key-file FILE"}}
		}
		return &exitError{code: exitWrite, err: err}
	}
	v := &mintKeyView{File: path, Type: kt.String(), Pin: pin.String()}
	if e.json {
		return writeJSON(e.stdout, mintView{Key: v})
	}
	printf(e.stdout, "%s %s\n", v.Pin, v.File)
	e.note(fmt.Sprintf("wrote the private key %s (%s, mode 0600); its pin is above", path, kt))
	if kt == mint.Ed25519 {
		e.warn("public CAs issue no certificates for Ed25519 keys, and most browsers accept none: a backup for a public server wants ecdsa or rsa")
	}
	e.hintCtx = hintContext{store: e.storeDir}
	e.hint("publish the pin as a backup beside the current key's, then keep " + path + " offline, not on the server:")
	e.hint("  " + e.commandLine(httptrust.Command{Name: "trust add", Args: []string{"<server certificate>", "--host", "<host>", "--pin", "--pin=" + v.Pin}}))
	e.hint(`or in the host's rule: pins = ["<current pin>", "` + v.Pin + `"]`)
	e.hint("when the current key is retired, have the new certificate issued for this key: openssl req -new -key " +
		httptrust.ShellQuote(path) + " -subj " + httptrust.ShellQuote("/CN=<host>") + " -out backup.csr")
	return nil
}

// keyPin returns the SPKI pin of a public key: what certs.SPKIPin returns
// for any certificate of that key.
func keyPin(pub crypto.PublicKey) (certs.Pin, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return certs.Pin{}, fmt.Errorf("encode public key: %w", err)
	}
	return sha256.Sum256(der), nil
}
