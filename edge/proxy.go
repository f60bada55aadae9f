package edge

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
)

// newProxy passes requests the edge does not answer itself to the cluster.
// The client's address goes along in X-Forwarded-For, so the nodes' per-IP
// limits see buyers, not the edge (start the nodes with --trusted-proxy
// naming the edges).
func (e *Edge) newProxy(tr *http.Transport) http.Handler {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = e.upstreams[0].Scheme
			pr.Out.URL.Host = e.upstreams[0].Host // replaced per attempt by failover
			if xff := pr.In.Header["X-Forwarded-For"]; len(xff) > 0 {
				pr.Out.Header["X-Forwarded-For"] = append([]string(nil), xff...)
			}
			pr.SetXForwarded()
			// SetXForwarded says "http" whenever the edge itself took no
			// TLS; behind a TLS-terminating proxy the buyer came over
			// https, and the session cookie must be Secure.
			pr.Out.Header.Set("X-Forwarded-Proto", e.trusted.Proto(pr.In))
		},
		Transport:     &failover{e: e, next: tr},
		FlushInterval: -1, // pass server-sent events through at once
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			e.log.Warn("no cluster node answered", "path", r.URL.Path, "err", err)
			api.WriteErrorRetry(w, floodgate.Errorf(floodgate.EUnavailable, "The sale's servers could not be reached; retry in a moment. Your place in the queue is kept by your ticket."), 1)
		},
	}
}

// failover sends a request to the node that answered last and, when a node
// cannot be connected to at all, to the next one. Only a failed connection
// is retried: the request never reached that node, so sending it elsewhere
// cannot do anything twice. (Every write is idempotent by its key anyway, so
// a client may retry the others with the same key.)
type failover struct {
	e    *Edge
	next http.RoundTripper
}

func (f *failover) RoundTrip(req *http.Request) (*http.Response, error) {
	f.e.metrics.forwarded.Inc()
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		// One extra byte lets the node answer 413 for a body over the limit.
		b, err := io.ReadAll(io.LimitReader(req.Body, api.MaxBody+1))
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	var last error
	for attempt := range f.e.upstreams {
		i := (int(f.e.preferred.Load()) + attempt) % len(f.e.upstreams)
		u := f.e.upstreams[i]
		out := req.Clone(req.Context())
		out.URL.Scheme, out.URL.Host, out.Host = u.Scheme, u.Host, u.Host
		if body != nil {
			out.Body = io.NopCloser(bytes.NewReader(body))
			out.ContentLength = int64(len(body))
		}
		resp, err := f.next.RoundTrip(out)
		if err == nil {
			f.e.preferred.Store(int64(i))
			return resp, nil
		}
		last = err
		if !dialFailed(err) {
			return nil, err
		}
	}
	return nil, last
}

// dialFailed reports whether err happened while connecting, before any byte
// of the request was sent.
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
