package http

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/floodgate/floodgate/internal/api"
)

// Calls between the nodes never carry the admin token itself: a follower
// that forwards a write, and a node that joins the cluster or records its
// address, sign the request with a key derived from the admin token (which
// every node shares) instead. A client cannot make such a signature, so it
// cannot set the forwarding marker or claim another address.

// ForwardedHeader marks a request a node forwarded: it carries the buyer's
// address as the follower saw it and whether the follower checked the admin
// token, signed. A forwarded request is never forwarded again (no loops
// while leadership moves).
const ForwardedHeader = "X-Floodgate-Forwarded"

// NodeAuthHeader signs an admin call from one node to another (join, node
// address) in place of the admin token.
const NodeAuthHeader = "X-Floodgate-Node-Auth"

// nodeAuthSkew is how far the time in a signed node request may be from the
// receiver's clock. A captured request can be replayed only within it, only
// to the same method, path and body, and every such call is idempotent.
const nodeAuthSkew = 60 * time.Second

// NodeKey derives the key that signs calls between the nodes from the admin
// token every node is started with.
func NodeKey(adminToken string) []byte {
	if adminToken == "" {
		return nil
	}
	m := hmac.New(sha256.New, []byte(adminToken))
	m.Write([]byte("floodgate node calls v1"))
	return m.Sum(nil)
}

func nodeMAC(key []byte, fields ...string) string {
	m := hmac.New(sha256.New, key)
	for _, f := range fields {
		m.Write([]byte(f))
		m.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func bodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// SignNodeRequest signs req, whose body is body, as an admin call from
// another node (see NodeAuthHeader).
func SignNodeRequest(req *http.Request, key, body []byte, now time.Time) {
	t := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set(NodeAuthHeader, "t="+t+",mac="+nodeMAC(key, "node", t, req.Method, req.URL.RequestURI(), bodyHash(body)))
}

// forwardMarker is what a follower vouches for about a forwarded request.
type forwardMarker struct {
	ip    netip.Addr
	admin bool
}

// signForward returns the ForwardedHeader value for a request.
func signForward(key []byte, m forwardMarker, method, uri string, body []byte, now time.Time) string {
	t := strconv.FormatInt(now.Unix(), 10)
	admin := "0"
	if m.admin {
		admin = "1"
	}
	ip := m.ip.String()
	return "t=" + t + ",ip=" + ip + ",admin=" + admin + ",mac=" + nodeMAC(key, "forward", t, ip, admin, method, uri, bodyHash(body))
}

// headerFields parses "k=v,k=v".
func headerFields(v string) map[string]string {
	out := map[string]string{}
	if len(v) > 512 {
		return out
	}
	for _, kv := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if ok {
			out[k] = val
		}
	}
	return out
}

func freshTime(t string, now time.Time) bool {
	sec, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return false
	}
	d := now.Sub(time.Unix(sec, 0))
	return d < nodeAuthSkew && d > -nodeAuthSkew
}

// readBodyForMAC reads the body of r (at most api.MaxBody+1 bytes) and puts
// it back, so that a handler still reads all of it.
func readBodyForMAC(r *http.Request) []byte {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, api.MaxBody+1))
	rest := r.Body
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), errReader{err}, rest), rest}
	return b
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}

// checkForward returns the marker of a request another node forwarded, if
// its signature is good and fresh.
func checkForward(key []byte, r *http.Request, now time.Time) (forwardMarker, bool) {
	v := r.Header.Get(ForwardedHeader)
	if v == "" || len(key) == 0 {
		return forwardMarker{}, false
	}
	f := headerFields(v)
	ip, err := netip.ParseAddr(f["ip"])
	if err != nil || (f["admin"] != "0" && f["admin"] != "1") || !freshTime(f["t"], now) {
		return forwardMarker{}, false
	}
	body := readBodyForMAC(r)
	want := nodeMAC(key, "forward", f["t"], f["ip"], f["admin"], r.Method, r.URL.RequestURI(), bodyHash(body))
	if !hmac.Equal([]byte(want), []byte(f["mac"])) {
		return forwardMarker{}, false
	}
	return forwardMarker{ip: ip, admin: f["admin"] == "1"}, true
}

// checkNodeAuth reports whether r is an admin call signed by another node.
func checkNodeAuth(key []byte, r *http.Request, now time.Time) bool {
	v := r.Header.Get(NodeAuthHeader)
	if v == "" || len(key) == 0 {
		return false
	}
	f := headerFields(v)
	if !freshTime(f["t"], now) {
		return false
	}
	body := readBodyForMAC(r)
	want := nodeMAC(key, "node", f["t"], r.Method, r.URL.RequestURI(), bodyHash(body))
	return hmac.Equal([]byte(want), []byte(f["mac"]))
}
