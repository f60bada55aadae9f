package http

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// forwarder proxies writes that reach a follower to the leader's API, so any
// node accepts any call. The answer is the leader's, given after commit.
type forwarder struct {
	cluster Cluster
	mu      sync.Mutex
	proxies map[string]*httputil.ReverseProxy
	tr      *http.Transport
}

func newForwarder(c Cluster) *forwarder {
	return &forwarder{
		cluster: c,
		proxies: map[string]*httputil.ReverseProxy{},
		tr: &http.Transport{
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
		},
	}
}

// ForwardedHeader marks a request a node forwarded, so that it is never
// forwarded twice (no loops while leadership moves).
const ForwardedHeader = "X-Floodgate-Forwarded"

func (f *forwarder) forward(w http.ResponseWriter, r *http.Request) bool {
	if f.cluster == nil || r.Header.Get(ForwardedHeader) != "" {
		return false
	}
	base := f.cluster.LeaderHTTP()
	if base == "" {
		return false
	}
	f.mu.Lock()
	p := f.proxies[base]
	if p == nil {
		u, err := url.Parse(base)
		if err != nil {
			f.mu.Unlock()
			return false
		}
		p = &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(u)
				pr.SetXForwarded()
				pr.Out.Header.Set(ForwardedHeader, "1")
			},
			Transport: f.tr,
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				writeUnavailable(w)
			},
		}
		f.proxies[base] = p
	}
	f.mu.Unlock()
	p.ServeHTTP(w, r)
	return true
}
