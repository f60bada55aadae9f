package http

import (
	"encoding/binary"
	"net"
	"net/http"
	"net/netip"
)

// SetBatchForwarding turns the batching of forwarded writes on or off, for
// benchmarks that compare the two; it returns a function that restores it.
func SetBatchForwarding(on bool) (restore func()) {
	old := batchForwarding
	batchForwarding = on
	return func() { batchForwarding = old }
}

// SetStreamForwarding turns the forward streams on or off (off: writes go
// in batch calls); it returns a function that restores it.
func SetStreamForwarding(on bool) (restore func()) {
	old := streamForwarding
	streamForwarding = on
	return func() { streamForwarding = old }
}

// ForwardStreams is how many forward streams s has open as a follower.
func ForwardStreams(s *Server) int {
	f := s.forward
	f.batchMu.Lock()
	defer f.batchMu.Unlock()
	n := 0
	for _, slot := range f.streams {
		slot.mu.Lock()
		if slot.s != nil && !slot.s.isDead() {
			n++
		}
		slot.mu.Unlock()
	}
	return n
}

// TestStream is a forward stream opened by hand, for tests of what the
// leader accepts.
type TestStream struct {
	Conn net.Conn
	Key  []byte // of the frames to the leader
	out  *frameWriter
	in   *frameReader
}

// DialForwardStream opens a stream to the leader at base with the node key.
func DialForwardStream(base string, key []byte) (*TestStream, error) {
	conn, bw, br, toLeader, toFollower, _, err := dialStream(base, key)
	if err != nil {
		return nil, err
	}
	return &TestStream{Conn: conn, Key: toLeader, out: newFrameWriter(bw, toLeader), in: newFrameReader(br, toFollower, 1<<20)}, nil
}

// ForwardFrame encodes writes as the frame payload of a stream, the first
// with id first; each write is method, URI, the buyer's address, admin, a
// header and a body.
type ForwardWrite struct {
	Method, URI, IP string
	Admin           bool
	Header          http.Header
	Body            []byte
}

func ForwardFrame(first uint64, ws ...ForwardWrite) []byte {
	jobs := make([]*fwdJob, len(ws))
	for i, w := range ws {
		jobs[i] = &fwdJob{method: w.Method, uri: w.URI, header: w.Header, body: w.Body, marker: forwardMarker{ip: netip.MustParseAddr(w.IP), admin: w.Admin}}
	}
	return appendBatch(binary.AppendUvarint(nil, first), jobs)
}

// Send sends payload as the next frame, MACed with key (t.Key for a good
// frame), at the stream's next sequence number.
func (t *TestStream) Send(payload, key []byte) error {
	fw := newFrameWriter(t.out.w, key)
	fw.seq = t.out.seq
	t.out.seq++
	return fw.write(payload)
}

// Answers reads the next frame of answers: id → status and body.
func (t *TestStream) Answers() (map[uint64]ForwardAnswer, error) {
	p, err := t.in.read()
	if err != nil {
		return nil, err
	}
	r := newBatchReader(p)
	out := map[uint64]ForwardAnswer{}
	for range r.uvarint() {
		id := r.uvarint()
		st := r.uvarint()
		r.header()
		body := r.bytes()
		out[id] = ForwardAnswer{Status: int(st), Body: string(body)}
	}
	return out, r.err
}

type ForwardAnswer struct {
	Status int
	Body   string
}
