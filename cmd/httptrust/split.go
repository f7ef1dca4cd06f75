package main

import (
	"net/http"
	"sync"

	"github.com/httptrust/httptrust"
)

// hostSplit sends the requests for one host (the URL's, with --cacert)
// through a policy made only of the command line's rule, and every other
// host (redirect hops) through the store, loaded on first need: with
// --cacert the store plays no part in the first hop and is not read for it.
type hostSplit struct {
	host       string // normalised
	mine       http.RoundTripper
	minePolicy *httptrust.Policy

	load func() (*httptrust.Policy, error)
	mk   func(*httptrust.Policy) http.RoundTripper

	mu         sync.Mutex
	loaded     bool
	rest       http.RoundTripper
	restPolicy *httptrust.Policy
	err        error
}

func (h *hostSplit) isMine(host string) bool {
	n, err := httptrust.NormalizeHost(host)
	return err == nil && n == h.host
}

func (h *hostSplit) others() (http.RoundTripper, *httptrust.Policy, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.loaded {
		h.loaded = true
		h.restPolicy, h.err = h.load()
		if h.err == nil {
			h.rest = h.mk(h.restPolicy)
		}
	}
	return h.rest, h.restPolicy, h.err
}

func (h *hostSplit) RoundTrip(req *http.Request) (*http.Response, error) {
	if h.isMine(req.URL.Hostname()) {
		return h.mine.RoundTrip(req)
	}
	rt, _, err := h.others()
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	return rt.RoundTrip(req)
}

// CloseIdleConnections closes the idle connections of both transports,
// without loading the store for it.
func (h *hostSplit) CloseIdleConnections() {
	closeIdle(h.mine)
	h.mu.Lock()
	rest := h.rest
	h.mu.Unlock()
	if rest != nil {
		closeIdle(rest)
	}
}

// policyFor returns the policy that judges host.
func (h *hostSplit) policyFor(host string) *httptrust.Policy {
	if h.isMine(host) {
		return h.minePolicy
	}
	_, p, _ := h.others()
	return p
}
