package main

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpproxy"
)

// proxyFlags are curl's -x/--proxy URL and --noproxy LIST.
type proxyFlags struct {
	proxy   string
	noproxy *string // nil when --noproxy is not given
}

// proxySchemes are the proxies the transport can use: HTTP and HTTPS
// (CONNECT) and SOCKS5. With socks5 and socks5h alike the proxy resolves
// the name.
var proxySchemes = map[string]bool{"http": true, "https": true, "socks5": true, "socks5h": true}

// proxyFunc returns the base transport's Proxy: -x for every request but
// the --noproxy hosts, or else the proxy of the environment (HTTPS_PROXY,
// HTTP_PROXY, NO_PROXY; Go never proxies loopback from the environment),
// --noproxy replacing NO_PROXY.
func (p proxyFlags) proxyFunc(getenv func(string) string) (func(*http.Request) (*url.URL, error), error) {
	if p.proxy == "" {
		// The run's environment (getenv), read as http.ProxyFromEnvironment
		// reads the process's: the demo runs its steps without a proxy.
		cfg := &httpproxy.Config{HTTPProxy: envOf(getenv, "HTTP_PROXY"), HTTPSProxy: envOf(getenv, "HTTPS_PROXY"), NoProxy: envOf(getenv, "NO_PROXY")}
		env := cfg.ProxyFunc()
		if p.noproxy == nil {
			return func(req *http.Request) (*url.URL, error) { return env(req.URL) }, nil
		}
		cfg.NoProxy = ""
		env = cfg.ProxyFunc()
		np := parseNoProxy(*p.noproxy)
		return func(req *http.Request) (*url.URL, error) {
			if np.matches(req.URL) {
				return nil, nil
			}
			return env(req.URL)
		}, nil
	}
	raw := p.proxy
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return nil, usagef("-x %q: want a proxy URL such as http://proxy.example:3128 or socks5h://127.0.0.1:1080", redactURL(raw))
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if !proxySchemes[u.Scheme] {
		return nil, usagef("-x %s: a %s:// proxy is not supported; use http://, https:// (CONNECT), socks5:// or socks5h://", u.Redacted(), u.Scheme)
	}
	list := envOf(getenv, "NO_PROXY")
	if p.noproxy != nil {
		list = *p.noproxy
	}
	np := parseNoProxy(list)
	return func(req *http.Request) (*url.URL, error) {
		if np.matches(req.URL) {
			return nil, nil
		}
		return u, nil
	}, nil
}

// envOf reads an environment variable in upper or lower case, as curl does.
func envOf(getenv func(string) string, name string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return getenv(strings.ToLower(name))
}

// noProxy is a parsed --noproxy (or NO_PROXY) list.
type noProxy struct {
	all     bool
	names   []hostPort // a name matches itself and every name below it
	ips     []hostPort
	prefixs []netip.Prefix
}

type hostPort struct {
	host string
	ip   netip.Addr
	port string // "" for any port
}

// parseNoProxy parses curl's --noproxy list: names, IP addresses and CIDR
// blocks separated by commas (or spaces), each name matching itself and
// the names below it (example.com, .example.com: www.example.com too), an
// optional :PORT, and "*" for every host. Entries it cannot read match
// nothing.
func parseNoProxy(list string) noProxy {
	var np noProxy
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		f = strings.ToLower(f)
		if f == "*" {
			np.all = true
			continue
		}
		if pfx, err := netip.ParsePrefix(strings.Trim(f, "[]")); err == nil {
			np.prefixs = append(np.prefixs, pfx.Masked())
			continue
		}
		host, port := f, ""
		if h, p, err := net.SplitHostPort(f); err == nil {
			host, port = h, p
		}
		host = strings.Trim(host, "[]")
		if ip, err := netip.ParseAddr(host); err == nil {
			np.ips = append(np.ips, hostPort{ip: ip.Unmap(), port: port})
			continue
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "."), ".")
		if host != "" {
			np.names = append(np.names, hostPort{host: host, port: port})
		}
	}
	return np
}

// matches reports whether u's host (and port) is in the list.
func (np noProxy) matches(u *url.URL) bool {
	if np.all {
		return true
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	portOK := func(p string) bool { return p == "" || p == port }
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		for _, e := range np.ips {
			if e.ip == ip && portOK(e.port) {
				return true
			}
		}
		for _, p := range np.prefixs {
			if p.Contains(ip) {
				return true
			}
		}
		return false
	}
	for _, e := range np.names {
		if (host == e.host || strings.HasSuffix(host, "."+e.host)) && portOK(e.port) {
			return true
		}
	}
	return false
}
