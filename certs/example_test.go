package certs_test

import (
	"fmt"

	"github.com/httptrust/httptrust/certs"
)

// ParsePin reads the pin forms of OkHttp, curl and HPKP; String prints
// OkHttp's.
func ExampleParsePin() {
	for _, s := range []string{
		"sha256/YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg=",
		"sha256//YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg=",
		`pin-sha256="YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg="`,
	} {
		pin, err := certs.ParsePin(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(pin)
	}
	_, err := certs.ParsePin("sha256/AAAA")
	fmt.Println(err)
	// Output:
	// sha256/YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg=
	// sha256/YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg=
	// sha256/YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg=
	// certs: pin "sha256/AAAA": OkHttp form sha256/<base64>: decodes to 3 bytes, a SHA-256 pin has 32
}

// ParseFingerprint accepts OpenSSL's output as it is printed.
func ExampleParseFingerprint() {
	fp, err := certs.ParseFingerprint("SHA256 Fingerprint=" +
		"60:B8:75:75:44:7D:CB:A2:A3:6B:7D:11:AC:09:FB:24:A9:DB:40:6F:EE:12:D2:CC:90:18:05:17:61:6E:8A:18")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(fp)
	_, err = certs.ParseFingerprint("SHA1 Fingerprint=AB:CD")
	fmt.Println(err)
	// Output:
	// 60b87575447dcba2a36b7d11ac09fb24a9db406fee12d2cc90180517616e8a18
	// certs: fingerprint "SHA1 Fingerprint=AB:CD": a SHA-1 fingerprint, which is not supported; give the SHA-256 one (openssl x509 -noout -fingerprint -sha256 -in FILE prints it)
}
