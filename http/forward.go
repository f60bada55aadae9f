package http

import (
	"bytes"
	"crypto/subtle"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/floodgate/floodgate/internal/api"
)

// forwarder proxies writes that reach a follower to the leader's API, so any
// node accepts any call. The answer is the leader's, given after commit.
type forwarder struct {
	cluster    Cluster
	key        []byte // signs the forwarding marker (NodeKey)
	adminToken string
	mu         sync.Mutex
	proxies    map[string]*httputil.ReverseProxy
	tr         *http.Transport
}

func newForwarder(c Cluster, adminToken string) *forwarder {
	return &forwarder{
		cluster:    c,
		key:        NodeKey(adminToken),
		adminToken: adminToken,
		proxies:    map[string]*httputil.ReverseProxy{},
		tr: &http.Transport{
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
		},
	}
}

// forward passes r to the leader. The buyer's address chain goes along in
// X-Forwarded-For, and the address this node settled on (after its own
// trusted proxies) in the signed ForwardedHeader, which the leader believes
// instead of the follower's address. The root admin token never leaves this
// node: it is checked here and the marker says so.
func (f *forwarder) forward(w http.ResponseWriter, r *http.Request, info *requestInfo) bool {
	if f.cluster == nil || info.forwarded || len(f.key) == 0 {
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
				// Rewrite starts without the inbound forwarding headers;
				// the chain is kept, and the peer appended to it.
				if xff := pr.In.Header["X-Forwarded-For"]; len(xff) > 0 {
					pr.Out.Header["X-Forwarded-For"] = append([]string(nil), xff...)
				}
				proto := pr.In.Header.Get("X-Forwarded-Proto")
				pr.SetURL(u)
				pr.SetXForwarded()
				if proto != "" {
					pr.Out.Header.Set("X-Forwarded-Proto", proto)
				}
			},
			Transport: f.tr,
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				writeUnavailable(w)
			},
		}
		f.proxies[base] = p
	}
	f.mu.Unlock()
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(io.LimitReader(r.Body, api.MaxBody+1))
		if err != nil {
			return false
		}
		body = b
	}
	out := r.Clone(r.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	m := forwardMarker{ip: info.ip, admin: info.admin}
	out.Header.Del(NodeAuthHeader)
	if tok := api.BearerToken(r); tok != "" && f.adminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(f.adminToken)) == 1 {
		m.admin = true
		out.Header.Del("Authorization")
	}
	out.Header.Set(ForwardedHeader, signForward(f.key, m, r.Method, r.URL.RequestURI(), body, time.Now()))
	p.ServeHTTP(w, out)
	return true
}
