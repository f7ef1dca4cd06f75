package export

import (
	"encoding/asn1"
	"encoding/hex"
)

// The signature algorithms the code formats accept, as Go's crypto/x509
// verifies them: the generated code compares the DER of a certificate's
// signatureAlgorithm with these.

// goSignatureOIDs are the DER values (hex) of the signature algorithm
// OIDs Go verifies whatever their parameters: RSA PKCS#1 SHA-256/384/512,
// ECDSA SHA-256/384/512, Ed25519 (no SHA-1, MD5 or DSA). RSA-PSS is not
// among them: its parameters choose the hash (goPSSParams).
var goSignatureOIDs = []string{
	"2a864886f70d01010b", "2a864886f70d01010c", "2a864886f70d01010d",
	"2a8648ce3d040302", "2a8648ce3d040303", "2a8648ce3d040304", "2b6570",
}

// oidRSAPSS is the DER value (hex) of id-RSASSA-PSS.
const oidRSAPSS = "2a864886f70d01010a"

// goPSSParams returns the DER encodings (hex) of the RSASSA-PSS parameters
// Go verifies: the hash and the MGF1 hash the same one of SHA-256, SHA-384
// and SHA-512, each with NULL or absent parameters, a salt as long as the
// hash, and the trailer field 1, written or left to its default.
func goPSSParams() []string {
	hashes := []struct {
		oid  asn1.ObjectIdentifier
		salt int
	}{
		{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, 32},
		{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}, 48},
		{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}, 64},
	}
	mgf1 := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	var out []string
	for _, h := range hashes {
		for _, hashNull := range []bool{false, true} {
			for _, mgfNull := range []bool{false, true} {
				for _, trailer := range []bool{false, true} {
					body := explicit(0, algID(h.oid, hashNull))
					body = append(body, explicit(1, seq(mustMarshal(mgf1), algID(h.oid, mgfNull)))...)
					body = append(body, explicit(2, mustMarshal(h.salt))...)
					if trailer {
						body = append(body, explicit(3, mustMarshal(1))...)
					}
					out = append(out, hex.EncodeToString(seq(body)))
				}
			}
		}
	}
	return out
}

func algID(oid asn1.ObjectIdentifier, withNull bool) []byte {
	b := mustMarshal(oid)
	if withNull {
		b = append(b, asn1.NullBytes...)
	}
	return seq(b)
}

func seq(parts ...[]byte) []byte {
	var body []byte
	for _, p := range parts {
		body = append(body, p...)
	}
	return mustMarshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: body})
}

func explicit(tag int, inner []byte) []byte {
	return mustMarshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tag, IsCompound: true, Bytes: inner})
}

func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic("export: " + err.Error())
	}
	return b
}

// goLeafKeyOIDs are the DER values (hex) of the public key algorithms
// whose keys Go's crypto/tls uses in a server's certificate, besides EC
// (oidECKey): rsaEncryption (first: the code checks its NULL parameters
// and size) and Ed25519.
var goLeafKeyOIDs = []string{"2a864886f70d010101", "2b6570"}

// oidECKey is the DER value (hex) of id-ecPublicKey.
const oidECKey = "2a8648ce3d0201"

// goLeafCurveOIDs are the DER values (hex) of the named curves of the EC
// keys the code formats accept in a server's certificate: P-256, P-384,
// P-521 (the curves of Go's TLS signature schemes).
var goLeafCurveOIDs = []string{"2a8648ce3d030107", "2b81040022", "2b81040023"}
