package http

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// SetStreamIdle sets how long a forward stream may stay silent (see
// streamIdle); it returns a function that restores it.
func SetStreamIdle(d time.Duration) (restore func()) {
	old := streamIdleSet.Swap(int64(d))
	return func() { streamIdleSet.Store(old) }
}

// ForwardStream is the forward stream s has open as a follower to the
// leader at base, or nil: for tests that check a stream is still the same.
func ForwardStream(s *Server, base string) any {
	f := s.forward
	f.batchMu.Lock()
	slot := f.streams[base]
	f.batchMu.Unlock()
	if slot == nil {
		return nil
	}
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if slot.s == nil || slot.s.isDead() {
		return nil
	}
	return slot.s
}

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
	d, _, err := dialStream(base, key)
	if err != nil {
		return nil, err
	}
	return &TestStream{Conn: d.conn, Key: d.toLeader, out: newFrameWriter(d.bw, d.toLeader), in: newFrameReader(d.br, d.toFollower, 1<<20)}, nil
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

// TestLeader is the leader's end of a forward stream, answered by hand.
type TestLeader struct {
	in  *frameReader
	out *frameWriter
}

// AcceptForwardStream reads a follower's request for a stream from conn
// and upgrades it as a leader with the node key would; pings says whether
// the leader says it takes pings (a leader of an older version does not).
func AcceptForwardStream(conn net.Conn, key []byte, pings bool) (*TestLeader, error) {
	br := bufio.NewReader(conn)
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, err
	}
	nf, nl := req.URL.Query().Get("n"), newNonce()
	answer := "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + streamProto + "\r\n" + streamNonceHdr + ": " + nl + "\r\n"
	if pings {
		answer += streamPingHdr + ": 1\r\n"
	}
	if _, err := conn.Write([]byte(answer + "\r\n")); err != nil {
		return nil, err
	}
	toLeader, toFollower := streamKeys(key, nf, nl)
	return &TestLeader{in: newFrameReader(br, toLeader, 1<<20), out: newFrameWriter(bufio.NewWriter(conn), toFollower)}, nil
}

// Writes reads the next frame: its writes by id, none for a ping.
func (t *TestLeader) Writes() (map[uint64]ForwardWrite, error) {
	p, err := t.in.read()
	if err != nil || len(p) == 0 {
		return nil, err
	}
	r := newBatchReader(p)
	first := r.uvarint()
	if r.err != nil {
		return nil, r.err
	}
	jobs, err := decodeBatch(r.b)
	if err != nil {
		return nil, err
	}
	out := map[uint64]ForwardWrite{}
	for i, j := range jobs {
		out[first+uint64(i)] = ForwardWrite{Method: j.method, URI: j.uri, IP: j.marker.ip.String(), Admin: j.marker.admin, Header: j.header, Body: j.body}
	}
	return out, nil
}

// Answer sends the answer a to the write id, in a frame of its own.
func (t *TestLeader) Answer(id uint64, a ForwardAnswer) error {
	if a.Status == 0 {
		return errors.New("an answer needs a status")
	}
	b := binary.AppendUvarint(nil, 1)
	b = binary.AppendUvarint(b, id)
	b = binary.AppendUvarint(b, uint64(a.Status))
	b = appendHeader(b, http.Header{"Content-Type": {"text/plain"}})
	b = appendBytes(b, a.Body)
	return t.out.write(b)
}

// RunForwarded runs w on s as a write forwarded in a stream would run,
// and returns its status.
func RunForwarded(s *Server, w ForwardWrite) int {
	j := &fwdJob{method: w.Method, uri: w.URI, header: w.Header.Clone(), body: w.Body, marker: forwardMarker{ip: netip.MustParseAddr(w.IP), admin: w.Admin}}
	r, _ := http.NewRequest("POST", ForwardBatchPath, nil)
	r.RemoteAddr = "127.0.0.1:1"
	return s.runForwarded(r, j).status
}

// LeaderStreams is how many forward streams s has open as the leader.
func LeaderStreams(s *Server) int { return int(s.leaderStreams.Load()) }
