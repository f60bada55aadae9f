package http

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
)

// Writes forwarded by a follower go over a stream (forwardstream.go); to a
// leader that does not stream, they travel in batches: the
// writes waiting at the follower while its previous calls to the leader are
// under way go together in one call, signed as a node call (NodeAuthHeader),
// and the leader runs each through its own handler, all at once, and
// answers them in one reply. A forwarded write then costs the two nodes one
// exchange with the client plus a share of one exchange between them,
// instead of two full HTTP exchanges: on a busy follower that was most of
// the difference between writing through it and writing to the leader.
//
// ForwardBatchPath is not part of the API: only a request signed with the
// node key is taken there; anything else is answered 404 like any unknown
// path.
const ForwardBatchPath = "/internal/forward"

const (
	// batchLanes is how many batch calls one follower keeps in flight to
	// the leader; writes arriving meanwhile wait for the next call.
	batchLanes = 4
	// batchMax bounds the writes and the bytes of one call (the leader
	// reads at most api.MaxBody of a signed node call).
	batchMax      = 256
	batchMaxBytes = api.MaxBody / 2
	// batchLoneBody: a write with a larger body goes alone, as before.
	batchLoneBody = 64 << 10
)

// batchForwarding is off only in benchmarks that compare the two ways.
var batchForwarding = true

// fwdJob is one forwarded write waiting for its answer.
type fwdJob struct {
	method, uri string
	header      http.Header
	body        []byte
	marker      forwardMarker
	done        chan fwdAnswer
}

type fwdAnswer struct {
	status int
	header http.Header
	body   []byte
	err    error
}

func (j *fwdJob) size() int {
	n := len(j.method) + len(j.uri) + len(j.body) + 64
	for k, vs := range j.header {
		for _, v := range vs {
			n += len(k) + len(v) + 8
		}
	}
	return n
}

// batcher sends the forwarded writes of one follower to one leader.
type batcher struct {
	base  string
	key   []byte
	tr    *http.Transport
	queue chan *fwdJob
}

func newBatcher(base string, key []byte, tr *http.Transport) *batcher {
	b := &batcher{base: strings.TrimRight(base, "/"), key: key, tr: tr, queue: make(chan *fwdJob, 4096)}
	for range batchLanes {
		go b.lane()
	}
	return b
}

// lane takes the writes waiting, up to a batch, and sends them. Lanes live
// as long as the process: a follower talks to few leaders in its life.
func (b *batcher) lane() {
	var batch []*fwdJob
	for j := range b.queue {
		batch = append(batch[:0], j)
		size := j.size()
	more:
		for len(batch) < batchMax && size < batchMaxBytes {
			select {
			case j := <-b.queue:
				batch = append(batch, j)
				size += j.size()
			default:
				break more
			}
		}
		answers, err := b.send(batch)
		for i, j := range batch {
			if err != nil {
				j.done <- fwdAnswer{err: err}
			} else {
				j.done <- answers[i]
			}
		}
		clear(batch)
	}
}

var errBatch = errors.New("forward batch failed")

func (b *batcher) send(batch []*fwdJob) ([]fwdAnswer, error) {
	body := encodeBatch(batch)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.base+ForwardBatchPath, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header["Content-Type"] = []string{"application/octet-stream"}
	req.Header["User-Agent"] = nil
	SignNodeRequest(req, b.key, body, time.Now())
	resp, err := b.tr.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil, errBatch
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	answers, err := decodeAnswers(raw, len(batch))
	if err != nil {
		return nil, err
	}
	return answers, nil
}

// batched passes one write through the batches to the leader at base and
// writes its answer; ok is false when the batch call failed (nothing is
// written then).
func (f *forwarder) batched(w http.ResponseWriter, r *http.Request, base string, j *fwdJob) bool {
	f.batchMu.Lock()
	b := f.batchers[base]
	if b == nil {
		if f.batchers == nil {
			f.batchers = map[string]*batcher{}
		}
		b = newBatcher(base, f.key, f.tr)
		f.batchers[base] = b
	}
	f.batchMu.Unlock()
	j.done = make(chan fwdAnswer, 1)
	select {
	case b.queue <- j:
	case <-r.Context().Done():
		return false
	}
	return writeAnswer(w, <-j.done)
}

// writeAnswer writes the leader's answer to a forwarded write; false when
// there is none (the call failed; nothing is written then).
func writeAnswer(w http.ResponseWriter, a fwdAnswer) bool {
	if a.err != nil {
		return false
	}
	h := w.Header()
	for k, vs := range a.header {
		h[k] = vs
	}
	h["Content-Length"] = []string{strconv.Itoa(len(a.body))}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
	return true
}

// forwardBatch answers ForwardBatchPath: a signed node call on the leader
// runs the batch; a signed call to a node that no longer leads is 503 (the
// follower answers each write 503, and its client retries); anything else is
// a path that does not exist.
func (s *Server) forwardBatch(w http.ResponseWriter, r *http.Request, info *requestInfo) {
	signed := r.Method == http.MethodPost && r.Header.Get(NodeAuthHeader) != "" && info.admin && !info.forwarded
	switch {
	case !signed:
		api.WriteError(w, floodgate.Errorf(floodgate.ENotFound, "Nothing is served at %s.", r.URL.Path))
	case !s.cfg.Store.IsLeader():
		writeUnavailable(w)
	case strings.EqualFold(r.Header.Get("Upgrade"), streamProto):
		s.forwardStream(w, r)
	default:
		s.serveForwardBatch(w, r)
	}
}

// serveForwardBatch runs a batch of forwarded writes on the leader. r is a
// node call whose signature the middleware checked.
func (s *Server) serveForwardBatch(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, api.MaxBody+1))
	if err == nil && len(raw) > api.MaxBody {
		api.WriteError(w, floodgate.Errorf(floodgate.ETooLarge, "A forwarded batch is at most %d bytes.", api.MaxBody))
		return
	}
	if err != nil {
		api.WriteError(w, floodgate.Errorf(floodgate.EInvalid, "The forwarded batch could not be read."))
		return
	}
	jobs, err := decodeBatch(raw)
	if err != nil {
		api.WriteError(w, floodgate.Errorf(floodgate.EInvalid, "The forwarded batch is malformed."))
		return
	}
	answers := make([]fwdAnswer, len(jobs))
	var wg sync.WaitGroup
	wg.Add(len(jobs))
	for i, j := range jobs {
		forwardWorkers.run(func() {
			defer wg.Done()
			answers[i] = s.runForwarded(r, j)
		})
	}
	wg.Wait()
	out := encodeAnswers(answers)
	h := w.Header()
	h["Content-Type"] = []string{"application/octet-stream"}
	h["Content-Length"] = []string{strconv.Itoa(len(out))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// workers run the writes of forward batches on the leader, each write on a
// goroutine of its own as before, but on goroutines that live on between
// batches: a fresh goroutine starts with a small stack, which a write's
// handler (JSON, the command's encoding, receipt signing) outgrows several
// times, copying it each time; a worker keeps the stack it grew. A worker
// with nothing to do for idle ends.
type workers struct {
	work    chan func()
	idle    time.Duration
	started atomic.Int64 // workers started, for tests
}

var forwardWorkers = newWorkers(10 * time.Second)

func newWorkers(idle time.Duration) *workers {
	return &workers{work: make(chan func()), idle: idle}
}

// run calls f on an idle worker, or on a new one if none is idle: it never
// waits for a worker.
func (w *workers) run(f func()) {
	select {
	case w.work <- f:
	default:
		w.started.Add(1)
		go w.loop(f)
	}
}

func (w *workers) loop(f func()) {
	idle := time.NewTimer(w.idle)
	defer idle.Stop()
	for {
		f()
		idle.Reset(w.idle)
		select {
		case f = <-w.work:
		case <-idle.C:
			return
		}
	}
}

// ctxForwardedBy carries the marker of a write that came in a batch: the
// batch's node signature vouches for it, as ForwardedHeader does for a
// write forwarded alone.
const ctxForwardedBy ctxKey = 100

func (s *Server) runForwarded(batch *http.Request, j *fwdJob) fwdAnswer {
	ctx := context.WithValue(batch.Context(), ctxForwardedBy, j.marker)
	req, err := http.NewRequestWithContext(ctx, j.method, j.uri, bytes.NewReader(j.body))
	if err != nil {
		return fwdAnswer{status: http.StatusBadRequest, header: http.Header{}, body: []byte(`{"error":{"code":"invalid","message":"The forwarded request is not valid."}}` + "\n")}
	}
	req.Header = j.header
	req.Header.Del(ForwardedHeader)
	req.Header.Del(NodeAuthHeader)
	req.RemoteAddr, req.Host, req.TLS = batch.RemoteAddr, batch.Host, batch.TLS
	if len(j.body) == 0 {
		req.Body = http.NoBody
	}
	rec := &answerWriter{header: http.Header{}}
	s.handler.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	delete(rec.header, "Content-Length")
	return fwdAnswer{status: rec.status, header: rec.header, body: rec.body.Bytes()}
}

// answerWriter keeps a handler's answer in memory.
type answerWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (a *answerWriter) Header() http.Header { return a.header }
func (a *answerWriter) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
	}
}
func (a *answerWriter) Write(p []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	return a.body.Write(p)
}

// The encoding of a batch: a count, then per write its method, URI,
// marker (address, admin), headers and body; and of the answers: per write
// its status, headers and body. Strings and byte strings are a uvarint
// length and the bytes.

func appendBytes(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendHeader(b []byte, h http.Header) []byte {
	n := 0
	for _, vs := range h {
		n += len(vs)
	}
	b = binary.AppendUvarint(b, uint64(n))
	for k, vs := range h {
		for _, v := range vs {
			b = appendBytes(b, k)
			b = appendBytes(b, v)
		}
	}
	return b
}

func encodeBatch(jobs []*fwdJob) []byte {
	size := 16
	for _, j := range jobs {
		size += j.size()
	}
	return appendBatch(make([]byte, 0, size), jobs)
}

func appendBatch(b []byte, jobs []*fwdJob) []byte {
	b = binary.AppendUvarint(b, uint64(len(jobs)))
	for _, j := range jobs {
		b = appendBytes(b, j.method)
		b = appendBytes(b, j.uri)
		ip, _ := j.marker.ip.MarshalText()
		b = appendBytes(b, string(ip))
		admin := byte(0)
		if j.marker.admin {
			admin = 1
		}
		b = append(b, admin)
		b = appendHeader(b, j.header)
		b = appendBytes(b, string(j.body))
	}
	return b
}

func encodeAnswers(as []fwdAnswer) []byte {
	size := 16
	for _, a := range as {
		size += len(a.body) + 256
	}
	b := make([]byte, 0, size)
	b = binary.AppendUvarint(b, uint64(len(as)))
	for _, a := range as {
		b = binary.AppendUvarint(b, uint64(a.status))
		b = appendHeader(b, a.header)
		b = appendBytes(b, string(a.body))
	}
	return b
}

var errBadBatch = errors.New("malformed forward batch")

// batchReader decodes a batch or its answers. The strings it returns
// (methods, URIs, header names and values) are slices of one copy of the
// whole message, s, rather than a copy each.
type batchReader struct {
	b   []byte // what is left to read
	s   string // the whole message
	err error
}

func newBatchReader(raw []byte) *batchReader { return &batchReader{b: raw, s: string(raw)} }

func (r *batchReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errBadBatch
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *batchReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errBadBatch
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

// str is bytes as a string, without a copy.
func (r *batchReader) str() string {
	b := r.bytes()
	if r.err != nil {
		return ""
	}
	end := len(r.s) - len(r.b)
	return r.s[end-len(b) : end]
}

func (r *batchReader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.err = errBadBatch
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *batchReader) header() http.Header {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b))/2 {
		r.err = errBadBatch
		return nil
	}
	h := make(http.Header, n)
	vs := make([]string, n) // one backing array for the values
	for i := range vs {
		k, v := r.str(), r.str()
		if r.err != nil {
			return nil
		}
		if prior, ok := h[k]; ok {
			h[k] = append(prior, v)
		} else {
			vs[i] = v
			h[k] = vs[i : i+1 : i+1]
		}
	}
	return h
}

func decodeBatch(raw []byte) ([]*fwdJob, error) {
	r := newBatchReader(raw)
	n := r.uvarint()
	if r.err != nil || n == 0 || n > batchMax {
		return nil, errBadBatch
	}
	jobs := make([]*fwdJob, 0, n)
	for range n {
		j := &fwdJob{method: r.str(), uri: r.str()}
		ip := r.str()
		admin := r.byte()
		j.header = r.header()
		j.body = r.bytes()
		if r.err != nil {
			return nil, r.err
		}
		addr, err := netip.ParseAddr(ip)
		if err != nil || admin > 1 || !strings.HasPrefix(j.uri, "/") {
			return nil, errBadBatch
		}
		j.marker = forwardMarker{ip: addr, admin: admin == 1}
		jobs = append(jobs, j)
	}
	if len(r.b) != 0 {
		return nil, errBadBatch
	}
	return jobs, nil
}

func decodeAnswers(raw []byte, want int) ([]fwdAnswer, error) {
	r := newBatchReader(raw)
	if n := r.uvarint(); r.err != nil || n != uint64(want) {
		return nil, errBadBatch
	}
	as := make([]fwdAnswer, want)
	for i := range as {
		st := r.uvarint()
		as[i].header = r.header()
		as[i].body = r.bytes()
		if r.err != nil || st < 100 || st > 599 {
			return nil, errBadBatch
		}
		as[i].status = int(st)
	}
	if len(r.b) != 0 {
		return nil, errBadBatch
	}
	return as, nil
}
