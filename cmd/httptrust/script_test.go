package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"httptrust": func() { logRun(os.Args[1:]); os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
		// httptrust-aialoopback is the CLI with AIA fetches allowed to
		// loopback, where the scripts' issuer servers listen.
		"httptrust-aialoopback": func() { logRun(os.Args[1:]); os.Exit(runAIALoopback(os.Args[1:])) },
	})
}

// TestScripts runs testdata/script/*.txtar: the CLI end to end against
// loopback servers started by the scripts' own commands (see serve.go in
// this folder's tests):
//
//	serve NAME [-ca|-public|-intermediate|-hostile] [-expired] [-mtls] [-plain] [-tls12] [-names a,b]
//	serve NAME -askcert ask for a client certificate; without one, answer 400 (nginx)
//	serve NAME -slowtls D | -hang | -tls11   a slow handshake; a port that never
//	                    answers; a TLS 1.0/1.1-only device
//	                    (-ca also writes NAME-chain.p7b and NAME-fullchain.pem: leaf, intermediate, root)
//	serve NAME -ca -leafonly -aia   the leaf names its issuer's URL, served over plain HTTP
//	                    (its requests count as the server NAME-issuer)
//	serve NAME -certfile C.pem -keyfile K.pem   serve that certificate and key
//	serve NAME -mtls -clientca CA.pem   check client certificates against CA.pem
//	serve NAME -hostile a self-signed certificate whose subject and names hold
//	                    terminal escapes (see hostileLeaf)
//	swap NAME [-public] serve a new certificate (self-signed, or from the public root)
//	renew NAME          serve a new certificate with the same key
//	hits NAME N         the server NAME has answered exactly N requests
//	headers NAME        print the headers (and Host) of the last request NAME received
//	has stdout|stderr S the last command's output contains S (no regexp)
//	lines stdout|stderr RE N   exactly N lines of the output match RE
//	termsafe stdout|stderr     the output holds no terminal control (C0 but
//	                    newline and tab, DEL, C1, bidi controls, invalid UTF-8)
//	json [-q] stdout|FILE PATH...  parse as JSON; print the values at PATHs
//	proxy NAME [-tls] HOST:PORT=ADDR:PORT...   a CONNECT proxy (-tls: an HTTPS
//	                    proxy with its own certificate NAME.pem); NAME_URL
//	tunnels NAME N      the proxy NAME was asked for exactly N tunnels
//	closedport          sets CLOSED_PORT to a port nothing listens on
//
// httptrust-aialoopback is the CLI with AIA fetches allowed to loopback.
// Every script gets a fresh store ($HTTPTRUST_STORE), a folder for mint's
// dev CA ($HTTPTRUST_CAROOT, $WORK/caroot), a private CA
// ($WORK/ca.pem) and stand-in system roots ($WORK/public-ca.pem through
// SSL_CERT_FILE), so nothing depends on the machine.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 scriptDir(t),
		Setup:               setupScript,
		Cmds:                scriptCmds,
		RequireExplicitExec: false,
	})
}

// scriptDir is testdata/script, rewritten to replay every command the
// CLI prints (printed_test.go); with -short, as it is.
func scriptDir(t *testing.T) string {
	if testing.Short() {
		return "testdata/script"
	}
	return replayScripts(t)
}

func setupScript(env *testscript.Env) error {
	pki, err := newScriptPKI(env.WorkDir)
	if err != nil {
		return err
	}
	env.Values["pki"] = pki
	env.Values["replay"] = &replayState{seen: map[string]bool{}}
	env.Setenv(envCommandLog, filepath.Join(env.WorkDir, ".printed-commands.jsonl"))
	empty := filepath.Join(env.WorkDir, ".no-cert-dir")
	if err := os.Mkdir(empty, 0o700); err != nil {
		return err
	}
	env.Setenv("HTTPTRUST_STORE", filepath.Join(env.WorkDir, "store"))
	env.Setenv(envCARoot, filepath.Join(env.WorkDir, "caroot"))
	env.Setenv("SSL_CERT_FILE", filepath.Join(env.WorkDir, "public-ca.pem"))
	env.Setenv("SSL_CERT_DIR", empty)
	env.Setenv("NO_COLOR", "1")
	env.Setenv("HTTPS_PROXY", "")
	env.Setenv("https_proxy", "")
	env.Setenv("HTTP_PROXY", "")
	env.Setenv("http_proxy", "")
	return nil
}
