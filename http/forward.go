package http

import (
	"bytes"
	"crypto/subtle"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/floodgate/floodgate/internal/api"
)

// forwarder proxies writes that reach a follower to the leader's API, so any
// node accepts any call. The answer is the leader's, given after commit.
//
// It calls the leader's HTTP/1.1 keep-alive connections through one
// Transport and copies the answer back itself: a forwarded write is small
// and answered whole, so it needs none of httputil.ReverseProxy's generality
// (a second clone of the request, a 32 KiB copy buffer per answer, trailers,
// protocol upgrades), which cost the follower more than the leader spends
// on the write.
type forwarder struct {
	cluster    Cluster
	key        []byte // signs the forwarding marker (NodeKey)
	adminToken string
	tr         *http.Transport
	// batchers send small writes in batches (forwardbatch.go), one per
	// leader address.
	batchMu  sync.Mutex
	batchers map[string]*batcher
	// streams hold the forward streams (forwardstream.go), one per
	// leader address.
	streams map[string]*streamSlot
}

func newForwarder(c Cluster, adminToken string) *forwarder {
	return &forwarder{
		cluster:    c,
		key:        NodeKey(adminToken),
		adminToken: adminToken,
		tr: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

// hopHeaders are the hop-by-hop headers (RFC 9110 7.6.1), which a proxy
// does not pass on.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// dropHopHeaders removes the hop-by-hop headers, and those the Connection
// header names, from h.
func dropHopHeaders(h http.Header) {
	for _, v := range h["Connection"] {
		for _, name := range strings.Split(v, ",") {
			if name = textproto.TrimString(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		delete(h, name)
	}
}

// copyBufs are the buffers answers are copied through.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

// forward passes r to the leader. The buyer's address chain goes along in
// X-Forwarded-For (with the peer appended), and the address this node
// settled on (after its own trusted proxies) in the signed ForwardedHeader,
// which the leader believes instead of the follower's address. The root
// admin token never leaves this node: it is checked here and the marker
// says so.
func (f *forwarder) forward(w http.ResponseWriter, r *http.Request, info *requestInfo) bool {
	if f.cluster == nil || info.forwarded || len(f.key) == 0 {
		return false
	}
	base := f.cluster.LeaderHTTP()
	if base == "" {
		return false
	}
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(io.LimitReader(r.Body, api.MaxBody+1))
		if err != nil {
			return false
		}
		body = b
	}
	hdr := r.Header.Clone()
	dropHopHeaders(hdr)
	hdr.Del(NodeAuthHeader)
	hdr.Del(ForwardedHeader)
	// The request id this node logs the request with (the client's, or
	// one made here): the leader logs the write with it too, and its
	// answer, which the client gets, carries it.
	hdr["X-Request-Id"] = []string{info.id}
	if hdr.Get("User-Agent") == "" {
		// Not Go's default: the leader sees the client's, or none.
		hdr["User-Agent"] = nil
	}
	if peer, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior := hdr["X-Forwarded-For"]; len(prior) > 0 {
			peer = strings.Join(prior, ", ") + ", " + peer
		}
		hdr["X-Forwarded-For"] = []string{peer}
	}
	hdr["X-Forwarded-Host"] = []string{r.Host}
	if hdr.Get("X-Forwarded-Proto") == "" {
		proto := "http"
		if r.TLS != nil {
			proto = "https"
		}
		hdr["X-Forwarded-Proto"] = []string{proto}
	}
	m := forwardMarker{ip: info.ip, admin: info.admin}
	if tok := api.BearerToken(r); tok != "" && f.adminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(f.adminToken)) == 1 {
		m.admin = true
		hdr.Del("Authorization")
	}
	if batchForwarding && len(body) <= batchLoneBody {
		j := &fwdJob{method: r.Method, uri: r.URL.RequestURI(), header: hdr, body: body, marker: m}
		if streamForwarding {
			if s := f.stream(base); s != nil {
				if !f.streamed(w, r, s, j) {
					writeUnavailable(w)
				}
				return true
			}
		}
		if !f.batched(w, r, base, j) {
			writeUnavailable(w)
		}
		return true
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, strings.TrimRight(base, "/")+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return false
	}
	out.Header = hdr
	out.Header.Set(ForwardedHeader, signForward(f.key, m, r.Method, r.URL.RequestURI(), body, time.Now()))

	resp, err := f.tr.RoundTrip(out)
	if err != nil {
		writeUnavailable(w)
		return true
	}
	defer resp.Body.Close()
	h := w.Header()
	for k, vs := range resp.Header {
		h[k] = vs
	}
	dropHopHeaders(h)
	w.WriteHeader(resp.StatusCode)
	buf := copyBufs.Get().(*[]byte)
	_, _ = io.CopyBuffer(writerOnly{w}, resp.Body, *buf)
	copyBufs.Put(buf)
	return true
}

// writerOnly hides the ResponseWriter's ReadFrom, so the copy goes through
// the pooled buffer.
type writerOnly struct{ io.Writer }
