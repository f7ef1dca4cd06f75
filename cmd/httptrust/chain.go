package main

import (
	"bytes"
	"crypto/x509"
	"fmt"

	"github.com/httptrust/httptrust/certs"
)

// chainParts are the certificates of one file told apart by what they do
// in it, as a browser's "export with chain" (.p7b) or a fullchain.pem
// holds them: the leaves (server certificates), the intermediates (CAs that
// issue a certificate of the file and are issued by one), and the anchors
// (the top CA of each path: the root if the file has it, else the highest
// intermediate; and a CA certificate that stands alone).
type chainParts struct {
	leaves, intermediates, anchors []*x509.Certificate
	// under says which leaves a CA of the file issued.
	under map[*x509.Certificate]bool
}

// splitChain tells the certificates of a file apart. A certificate issues
// another when it signed it and may sign certificates (CA:TRUE, and
// keyCertSign if it has a key usage). One that issues nothing is an anchor
// if it is a CA with keyCertSign, and a leaf otherwise: the usual
// `openssl req -x509` device certificate says CA:TRUE without a key usage,
// and is trusted exactly.
func splitChain(cs []*x509.Certificate) chainParts {
	var uniq []*x509.Certificate
	for _, c := range cs {
		dup := false
		for _, u := range uniq {
			dup = dup || u.Equal(c)
		}
		if !dup {
			uniq = append(uniq, c)
		}
	}
	issuer := make([]int, len(uniq))
	issues := make([]bool, len(uniq))
	for i, c := range uniq {
		issuer[i] = -1
		for j, p := range uniq {
			if i != j && bytes.Equal(c.RawIssuer, p.RawSubject) && c.CheckSignatureFrom(p) == nil {
				issuer[i], issues[j] = j, true
				break
			}
		}
	}
	parts := chainParts{under: map[*x509.Certificate]bool{}}
	for i, c := range uniq {
		switch {
		case issues[i] && (issuer[i] < 0 || certs.IsSelfSigned(c)):
			parts.anchors = append(parts.anchors, c)
		case issues[i]:
			parts.intermediates = append(parts.intermediates, c)
		case c.IsCA && c.KeyUsage&x509.KeyUsageCertSign != 0:
			parts.anchors = append(parts.anchors, c)
		default:
			parts.leaves = append(parts.leaves, c)
			parts.under[c] = issuer[i] >= 0
		}
	}
	return parts
}

// isChain reports whether the file holds a path: a certificate and the CA
// that issued it.
func (p chainParts) isChain() bool { return len(p.intermediates) > 0 || anyTrue(p.under) }

func anyTrue(m map[*x509.Certificate]bool) bool {
	for _, v := range m {
		if v {
			return true
		}
	}
	return false
}

// droppedLeaf says why a server certificate of a chain file is not written.
func droppedLeaf(c *x509.Certificate, under bool) string {
	if under {
		return fmt.Sprintf("%s: a server certificate issued under the anchor, not written (the anchor vouches for it and for its renewals; --certificate trusts it exactly instead)", c.Subject)
	}
	return fmt.Sprintf("%s: a server certificate that no CA of the file issued, not written (trust it on its own with --certificate)", c.Subject)
}
