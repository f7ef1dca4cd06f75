package main

import (
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/httptrust/httptrust/internal/testpki"
)

// socks5Server is a minimal SOCKS5 proxy (no authentication, CONNECT
// only) that sends every name to 127.0.0.1 and records the targets it was
// asked for.
type socks5Server struct {
	ln      net.Listener
	mu      sync.Mutex
	targets []string
	wg      sync.WaitGroup
}

func startSOCKS5(t *testing.T) *socks5Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &socks5Server{ln: ln}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *socks5Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(c)
		}()
	}
}

func (s *socks5Server) handle(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 262)
	if _, err := io.ReadFull(c, buf[:2]); err != nil || buf[0] != 5 {
		return
	}
	if _, err := io.ReadFull(c, buf[:buf[1]]); err != nil {
		return
	}
	c.Write([]byte{5, 0})
	if _, err := io.ReadFull(c, buf[:4]); err != nil || buf[1] != 1 {
		return
	}
	var host string
	switch buf[3] {
	case 1:
		io.ReadFull(c, buf[:4])
		host = net.IP(buf[:4]).String()
	case 3:
		io.ReadFull(c, buf[:1])
		n := int(buf[0])
		io.ReadFull(c, buf[:n])
		host = string(buf[:n])
	case 4:
		io.ReadFull(c, buf[:16])
		host = net.IP(buf[:16]).String()
	default:
		return
	}
	io.ReadFull(c, buf[:2])
	port := strconv.Itoa(int(binary.BigEndian.Uint16(buf[:2])))
	s.mu.Lock()
	s.targets = append(s.targets, net.JoinHostPort(host, port))
	s.mu.Unlock()
	up, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	defer up.Close()
	c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	done := make(chan struct{})
	go func() {
		io.Copy(up, c)
		up.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(c, up)
	c.Close()
	<-done
}

func (s *socks5Server) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.targets...)
}

// TestSOCKS5Proxy: -x socks5h:// and socks5:// reach a server by name
// through the proxy, which resolves it; the server is verified for that
// name, as without a proxy. --noproxy sets the proxy aside.
func TestSOCKS5Proxy(t *testing.T) {
	noLeaks(t)
	pki := testpki.New(t)
	srv := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(pki.Leaf(t, "a.test")), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello through "+r.Host+"\n")
	}))
	other := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(pki.Leaf(t, "other.test")), nil)
	ca := writeFile(t, "ca.pem", pki.Root.CertPEM())
	px := startSOCKS5(t)
	target := "https://a.test:" + srv.Port + "/"
	for _, scheme := range []string{"socks5h", "socks5"} {
		t.Run(scheme, func(t *testing.T) {
			e, out, errb := testEnv(t, "", false)
			if code := e.run([]string{"get", "--cacert", ca, "-x", scheme + "://" + px.ln.Addr().String(), target}); code != exitOK {
				t.Fatalf("exit %d\n%s", code, errb)
			}
			if !strings.HasPrefix(out.String(), "hello through a.test:") {
				t.Errorf("stdout %q", out)
			}
			if got := px.seen(); len(got) == 0 || got[len(got)-1] != "a.test:"+srv.Port {
				t.Errorf("the proxy was asked for %q", got)
			}
		})
	}
	// The certificate is judged for the URL's host through the proxy too:
	// other.test's certificate does not pass for a.test.
	e, _, errb := testEnv(t, "", false)
	if code := e.run([]string{"get", "--cacert", ca, "-x", "socks5h://" + px.ln.Addr().String(), "https://a.test:" + other.Port + "/"}); code != exitVerify || !strings.Contains(errb.String(), "name mismatch") {
		t.Errorf("another certificate through the proxy: exit %d\n%s", code, errb)
	}
	// --noproxy: direct (and a.test does not resolve here, so --resolve).
	n := len(px.seen())
	e, _, errb = testEnv(t, "", false)
	if code := e.run([]string{"get", "--cacert", ca, "-x", "socks5h://" + px.ln.Addr().String(), "--noproxy", ".test",
		"--resolve", "a.test:" + srv.Port + ":127.0.0.1", target}); code != exitOK || len(px.seen()) != n {
		t.Errorf("--noproxy: exit %d, proxy asked %d more times\n%s", code, len(px.seen())-n, errb)
	}
}
