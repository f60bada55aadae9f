package http

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
)

// A follower sends its forwarded writes to the leader over one connection
// that stays open (a forward stream), rather than in batch calls that each
// wait for all their writes:
//
//   - a write goes out as soon as the connection is free to write, together
//     with whatever else is waiting then (one frame), instead of waiting for
//     one of a few batch calls to come back; so the writes reach the
//     leader's log as early as writes sent to it directly do, and its log
//     entries carry as many commands;
//   - the leader answers each write as soon as it is done (answers done at
//     the same time share a frame), not once the slowest of its batch is;
//   - a frame costs no HTTP request or response of its own.
//
// The stream opens with a node-signed HTTP request (NodeAuthHeader) carrying
// the follower's random nonce, which the leader upgrades, adding a nonce of
// its own. Every frame after that carries an HMAC under a key derived from
// the node key and both nonces, with the frame's sequence number and
// direction: a frame cannot be forged, changed, reordered, or replayed into
// this or another stream. A leader that does not know the stream (an
// older version) answers 400 or 404, and the follower sends batches to it
// instead (forwardbatch.go).
//
// A stream with writes waiting for answers that receives nothing for
// streamIdle is given up; a stream with none waiting stays open. The
// leader gives up a stream that sends it nothing for streamIdle: a follower
// whose leader takes pings (streamPingHdr in its answer to the upgrade)
// sends an empty frame whenever it has sent nothing for a quarter of that,
// so a healthy idle stream lives on, and the stream of a follower that
// vanished (a partition) is closed.
//
// A follower keeps a stream to the leader's address only: when it picks a
// stream for another address, it closes those to the former leaders (pings
// would keep them open for good). A leader that stops leading closes its
// end of every stream (the store tells it: leadershipWatcher).
//
// A write whose client goes away is answered no longer; the leader may
// still apply it, as with a batch.
//
// A write whose stream breaks, or is closed, before its answer came is
// answered 503, as a batch call that fails is: it may or may not have been
// committed, and the client retries with the same Idempotency-Key (and
// reaches the new leader through the follower, which opens a stream to
// it).
//
// The stream opens at ForwardBatchPath, with Upgrade: floodgate-forward/1:
// a leader without streams answers that signed call 400 (an empty batch).

const (
	streamProto    = "floodgate-forward/1"
	streamNonceHdr = "X-Floodgate-Stream-Nonce"
	streamMACLen   = 16
	// streamPingHdr, in the leader's answer to the upgrade, says it takes
	// pings (empty frames); a leader of an older version closes the stream
	// on one.
	streamPingHdr = "X-Floodgate-Stream-Pings"
	// streamIdleDefault: see streamIdle.
	streamIdleDefault = 60 * time.Second
	// streamRetryOld: after a leader said it does not speak the stream,
	// batches are used for this long before asking again.
	streamRetryOld = 30 * time.Second
	// streamRetryFailed: after a stream could not be opened, batches are
	// used for this long before trying again.
	streamRetryFailed = time.Second
	// streamMaxAnswers bounds a frame of answers the follower reads.
	streamMaxAnswers = 64 << 20
)

// streamIdleSet, when above zero, is streamIdle instead of
// streamIdleDefault (tests shorten it).
var streamIdleSet atomic.Int64

// streamIdle is how long a stream with writes waiting for answers may
// receive nothing before the follower gives it up (its writes answered
// 503), and how long any stream may send the leader nothing before the
// leader gives it up. A follower pings after a quarter of it.
func streamIdle() time.Duration {
	if d := time.Duration(streamIdleSet.Load()); d > 0 {
		return d
	}
	return streamIdleDefault
}

// streamForwarding is off only in benchmarks and tests that compare the
// ways of forwarding.
var streamForwarding = true

// streamKeys derives the keys of the two directions of a stream.
func streamKeys(nodeKey []byte, nf, nl string) (toLeader, toFollower []byte) {
	k := func(dir string) []byte {
		m := hmac.New(sha256.New, nodeKey)
		m.Write([]byte("floodgate forward stream v1\x00" + dir + "\x00" + nf + "\x00" + nl))
		return m.Sum(nil)
	}
	return k("to-leader"), k("to-follower")
}

func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// frameWriter writes MACed frames: a 4-byte length, the payload, and the
// first streamMACLen bytes of HMAC(key, sequence number, payload).
type frameWriter struct {
	w   *bufio.Writer
	mac hash.Hash
	seq uint64
	buf []byte
}

func newFrameWriter(w *bufio.Writer, key []byte) *frameWriter {
	return &frameWriter{w: w, mac: hmac.New(sha256.New, key)}
}

// frameMAC appends the MAC of a frame to out[:0]; out's array holds the
// sequence number on the way (a local array would escape through the
// hash.Hash, an allocation a frame).
func frameMAC(m hash.Hash, seq uint64, payload []byte, out []byte) []byte {
	out = binary.BigEndian.AppendUint64(out[:0], seq)
	m.Reset()
	m.Write(out)
	m.Write(payload)
	return m.Sum(out[:0])
}

func (f *frameWriter) write(payload []byte) error {
	f.buf = frameMAC(f.mac, f.seq, payload, f.buf)
	f.seq++
	_ = f.w.WriteByte(byte(len(payload) >> 24))
	_ = f.w.WriteByte(byte(len(payload) >> 16))
	_ = f.w.WriteByte(byte(len(payload) >> 8))
	_ = f.w.WriteByte(byte(len(payload)))
	_, _ = f.w.Write(payload)
	_, _ = f.w.Write(f.buf[:streamMACLen])
	return f.w.Flush()
}

// frameReader reads and checks frames of at most max bytes.
type frameReader struct {
	r   *bufio.Reader
	mac hash.Hash
	seq uint64
	max int
	buf []byte
}

func newFrameReader(r *bufio.Reader, key []byte, max int) *frameReader {
	return &frameReader{r: r, mac: hmac.New(sha256.New, key), max: max}
}

var errFrame = errors.New("forward stream: bad frame")

// read returns the next frame's payload, a new slice.
func (f *frameReader) read() ([]byte, error) {
	l, err := f.r.Peek(4)
	if err != nil {
		if err == io.EOF && len(l) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(l))
	_, _ = f.r.Discard(4)
	if n > f.max {
		return nil, errFrame
	}
	frame := make([]byte, n+streamMACLen)
	if _, err := io.ReadFull(f.r, frame); err != nil {
		return nil, err
	}
	payload, got := frame[:n:n], frame[n:]
	f.buf = frameMAC(f.mac, f.seq, payload, f.buf)
	f.seq++
	if !hmac.Equal(got, f.buf[:streamMACLen]) {
		return nil, errFrame
	}
	return payload, nil
}

// streamSlot holds the stream of a follower to one leader address.
type streamSlot struct {
	mu       sync.Mutex
	s        *fwdStream
	oldUntil time.Time // the leader does not speak the stream until then
	// failUntil: opening a stream failed; until then writes go in batches
	// rather than each waiting for another attempt.
	failUntil time.Time
	// retired: the address is no longer the leader's; no stream opens in
	// this slot again (a write that still picked the address goes in a
	// batch).
	retired bool
}

// errLeaderMoved fails the writes of a stream to an address that is no
// longer the leader's: they are answered 503, as on a broken stream.
var errLeaderMoved = errors.New("forward stream: the leader moved")

// stream returns an open stream to the leader at base, opening one if
// needed, or nil when writes should go in batches (the leader does not
// speak the stream, or it could not be opened: the batch call then fails
// or succeeds on its own). The streams to other addresses, former leaders,
// are closed: a stream pings its leader, so it would stay open for good.
func (f *forwarder) stream(base string) *fwdStream {
	f.batchMu.Lock()
	slot := f.streams[base]
	if slot == nil {
		if f.streams == nil {
			f.streams = map[string]*streamSlot{}
		}
		slot = &streamSlot{}
		f.streams[base] = slot
	}
	var former []*streamSlot
	if len(f.streams) > 1 {
		for b, sl := range f.streams {
			if b != base {
				former = append(former, sl)
				delete(f.streams, b)
			}
		}
	}
	f.batchMu.Unlock()
	for _, sl := range former {
		sl.retire()
	}
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if s := slot.s; s != nil && !s.isDead() {
		return s
	}
	slot.s = nil
	if now := time.Now(); slot.retired || now.Before(slot.oldUntil) || now.Before(slot.failUntil) {
		return nil
	}
	s, old, err := openStream(base, f.key)
	if old {
		slot.oldUntil = time.Now().Add(streamRetryOld)
	}
	if err != nil {
		slot.failUntil = time.Now().Add(streamRetryFailed)
		return nil
	}
	slot.s = s
	return s
}

// retire closes the slot's stream, its writes not answered yet answered
// 503, and keeps the slot from opening another.
func (sl *streamSlot) retire() {
	sl.mu.Lock()
	s := sl.s
	sl.s, sl.retired = nil, true
	sl.mu.Unlock()
	if s != nil {
		s.fail(errLeaderMoved)
	}
}

// fwdStream is the follower's end of a stream.
type fwdStream struct {
	conn  net.Conn
	out   *frameWriter
	in    *frameReader
	idle  time.Duration
	pings bool // the leader takes pings

	mu      sync.Mutex
	queue   []*fwdJob
	pending map[uint64]*fwdJob
	next    uint64
	dead    bool

	wake   chan struct{}
	closed chan struct{}
}

// openStream dials the leader at base and opens a stream; old is true when
// the leader answered that it does not stream.
func openStream(base string, key []byte) (*fwdStream, bool, error) {
	d, old, err := dialStream(base, key)
	if err != nil {
		return nil, old, err
	}
	s := &fwdStream{
		conn:    d.conn,
		out:     newFrameWriter(d.bw, d.toLeader),
		in:      newFrameReader(d.br, d.toFollower, streamMaxAnswers),
		idle:    streamIdle(),
		pings:   d.pings,
		pending: map[uint64]*fwdJob{},
		wake:    make(chan struct{}, 1),
		closed:  make(chan struct{}),
	}
	go s.writeLoop()
	go s.readLoop()
	return s, false, nil
}

// dialedStream is a stream's connection, opened, and the keys of its
// frames to and from the leader.
type dialedStream struct {
	conn                 net.Conn
	bw                   *bufio.Writer
	br                   *bufio.Reader
	toLeader, toFollower []byte
	pings                bool // the leader takes pings
}

// dialStream connects to the leader at base and asks it for a stream; old
// is true when the leader answered that it does not stream.
func dialStream(base string, key []byte) (d dialedStream, old bool, err error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		// Only plain HTTP between the nodes is streamed; anything else
		// goes in batches through the HTTP client.
		return d, false, errors.New("forward stream: not an http:// address")
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	conn, err := (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).Dial("tcp", host)
	if err != nil {
		return d, false, err
	}
	fail := func(old bool, err error) (dialedStream, bool, error) {
		conn.Close()
		return dialedStream{}, old, err
	}
	nf := newNonce()
	req, err := http.NewRequest(http.MethodPost, strings.TrimRight(base, "/")+ForwardBatchPath+"?n="+nf, nil)
	if err != nil {
		return fail(false, err)
	}
	req.Header["User-Agent"] = nil
	req.Header["Connection"] = []string{"Upgrade"}
	req.Header["Upgrade"] = []string{streamProto}
	SignNodeRequest(req, key, nil, time.Now())
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	bw := bufio.NewWriterSize(conn, 32<<10)
	if err := req.Write(bw); err != nil {
		return fail(false, err)
	}
	if err := bw.Flush(); err != nil {
		return fail(false, err)
	}
	br := bufio.NewReaderSize(conn, 32<<10)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return fail(false, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return fail(resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusBadRequest, errors.New("forward stream: "+resp.Status))
	}
	nl := resp.Header.Get(streamNonceHdr)
	if len(nl) != 32 {
		return fail(false, errors.New("forward stream: no nonce from the leader"))
	}
	_ = conn.SetDeadline(time.Time{})
	toLeader, toFollower := streamKeys(key, nf, nl)
	return dialedStream{conn: conn, bw: bw, br: br, toLeader: toLeader, toFollower: toFollower, pings: resp.Header.Get(streamPingHdr) == "1"}, false, nil
}

func (s *fwdStream) isDead() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dead
}

// submit queues j; false when the stream is closed.
func (s *fwdStream) submit(j *fwdJob) bool {
	s.mu.Lock()
	if s.dead {
		s.mu.Unlock()
		return false
	}
	s.queue = append(s.queue, j)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return true
}

// fail closes the stream and answers every write not answered yet with
// err.
func (s *fwdStream) fail(err error) {
	s.mu.Lock()
	if s.dead {
		s.mu.Unlock()
		return
	}
	s.dead = true
	left := s.queue
	s.queue = nil
	for _, j := range s.pending {
		left = append(left, j)
	}
	s.pending = nil
	s.mu.Unlock()
	close(s.closed)
	_ = s.conn.Close()
	for _, j := range left {
		j.done <- fwdAnswer{err: err}
	}
}

// writeLoop sends what is queued, as many writes a frame as are waiting
// (up to a batch's limits), whenever the connection is free; and a ping
// when it sent nothing for a quarter of s.idle, if the leader takes them.
func (s *fwdStream) writeLoop() {
	var jobs []*fwdJob
	var buf []byte
	var tick <-chan time.Time
	if s.pings {
		t := time.NewTicker(s.idle / 4)
		defer t.Stop()
		tick = t.C
	}
	sent := false // since the last tick
	for {
		select {
		case <-s.wake:
		case <-tick:
			if !sent {
				_ = s.conn.SetWriteDeadline(time.Now().Add(s.idle))
				if err := s.out.write(nil); err != nil {
					s.fail(err)
					return
				}
			}
			sent = false
			continue
		case <-s.closed:
			return
		}
		for {
			s.mu.Lock()
			if s.dead {
				s.mu.Unlock()
				return
			}
			n, size := 0, 0
			for n < len(s.queue) && n < batchMax && (n == 0 || size+s.queue[n].size() < batchMaxBytes) {
				size += s.queue[n].size()
				n++
			}
			jobs = append(jobs[:0], s.queue[:n]...)
			s.queue = s.queue[:copy(s.queue, s.queue[n:])]
			if n > 0 && len(s.pending) == 0 {
				// Writes wait now: the leader must answer in time.
				_ = s.conn.SetReadDeadline(time.Now().Add(s.idle))
			}
			first := s.next
			for _, j := range jobs {
				s.pending[s.next] = j
				s.next++
			}
			s.mu.Unlock()
			if len(jobs) == 0 {
				break
			}
			buf = binary.AppendUvarint(buf[:0], first)
			buf = appendBatch(buf, jobs)
			clear(jobs)
			_ = s.conn.SetWriteDeadline(time.Now().Add(s.idle))
			if err := s.out.write(buf); err != nil {
				s.fail(err)
				return
			}
			sent = true
		}
	}
}

// readLoop hands each answer to its write. The connection has a read
// deadline only while writes wait for answers (set by writeLoop when the
// first is sent, moved on by each frame that comes).
func (s *fwdStream) readLoop() {
	for {
		p, err := s.in.read()
		if err != nil {
			s.fail(err)
			return
		}
		r := newBatchReader(p)
		n := r.uvarint()
		if r.err != nil || n == 0 {
			s.fail(errFrame)
			return
		}
		for range n {
			id := r.uvarint()
			var a fwdAnswer
			st := r.uvarint()
			a.header = r.header()
			a.body = r.bytes()
			if r.err != nil || st < 100 || st > 599 {
				s.fail(errFrame)
				return
			}
			a.status = int(st)
			s.mu.Lock()
			j := s.pending[id]
			delete(s.pending, id)
			s.mu.Unlock()
			if j == nil {
				s.fail(errFrame)
				return
			}
			j.done <- a
		}
		if len(r.b) != 0 {
			s.fail(errFrame)
			return
		}
		s.mu.Lock()
		if !s.dead {
			if len(s.pending) == 0 {
				_ = s.conn.SetReadDeadline(time.Time{})
			} else {
				_ = s.conn.SetReadDeadline(time.Now().Add(s.idle))
			}
		}
		s.mu.Unlock()
	}
}

// streamed passes one write of r through the stream s and writes its
// answer; ok is false when the stream broke before the answer came, or r's
// client went away (nothing is written then). A write given up that way
// may still be applied; its answer, when it comes, goes nowhere.
func (f *forwarder) streamed(w http.ResponseWriter, r *http.Request, s *fwdStream, j *fwdJob) bool {
	j.done = make(chan fwdAnswer, 1)
	if !s.submit(j) {
		return false
	}
	select {
	case a := <-j.done:
		return writeAnswer(w, a)
	case <-r.Context().Done():
		return false
	}
}

// forwardStream opens a stream on the leader for a signed node call that
// asks for one (forwardBatch checked the signature and the leadership).
func (s *Server) forwardStream(w http.ResponseWriter, r *http.Request) {
	nf := r.URL.Query().Get("n")
	if len(nf) != 32 {
		api.WriteError(w, floodgate.Errorf(floodgate.EInvalid, "A forward stream needs the node's nonce."))
		return
	}
	s.serveForwardStream(w, r, nf)
}

// leadershipWatcher is a Store that tells when its leadership changes
// (store.Store does).
type leadershipWatcher interface {
	// LeadershipChanged returns a channel that is closed the next time
	// the node gains or loses the leadership, or its store closes.
	LeadershipChanged() <-chan struct{}
}

// leaderStream is the leader's end of a stream.
type leaderStream struct {
	conn net.Conn
	out  *frameWriter
	idle time.Duration
	// lost is closed when the node stops leading (nil: never known): the
	// stream is closed then, as a broken stream, and the follower answers
	// the writes still waiting on it 503 and opens a stream to the new
	// leader.
	lost <-chan struct{}

	mu      sync.Mutex
	answers []streamAnswer
	dead    bool
	wake    chan struct{}
	closed  chan struct{}
}

type streamAnswer struct {
	id uint64
	a  fwdAnswer
}

func (s *Server) serveForwardStream(w http.ResponseWriter, r *http.Request, nf string) {
	var lost <-chan struct{}
	if lw, ok := s.cfg.Store.(leadershipWatcher); ok {
		// Taken before the leadership is checked again: a loss after the
		// check closes it.
		lost = lw.LeadershipChanged()
		if !s.cfg.Store.IsLeader() {
			writeUnavailable(w)
			return
		}
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		api.WriteError(w, floodgate.Errorf(floodgate.EUnavailable, "This node cannot stream forwarded writes."))
		return
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Time{})
	nl := newNonce()
	_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + streamProto + "\r\n" + streamNonceHdr + ": " + nl + "\r\n" + streamPingHdr + ": 1\r\n\r\n")
	if brw.Flush() != nil {
		return
	}
	toLeader, toFollower := streamKeys(s.nodeKey, nf, nl)
	ls := &leaderStream{
		conn:   conn,
		out:    newFrameWriter(brw.Writer, toFollower),
		idle:   streamIdle(),
		lost:   lost,
		wake:   make(chan struct{}, 1),
		closed: make(chan struct{}),
	}
	s.leaderStreams.Add(1)
	defer s.leaderStreams.Add(-1)
	go ls.writeLoop()
	defer ls.close()
	in := newFrameReader(brw.Reader, toLeader, api.MaxBody)
	for {
		// A follower sends a frame (a ping if nothing else) well within
		// ls.idle; one that sends none is gone.
		_ = conn.SetReadDeadline(time.Now().Add(ls.idle))
		p, err := in.read()
		if err != nil {
			return
		}
		if len(p) == 0 {
			continue // a ping
		}
		r2 := newBatchReader(p)
		first := r2.uvarint()
		if r2.err != nil {
			return
		}
		jobs, err := decodeBatch(r2.b)
		if err != nil {
			return
		}
		for i, j := range jobs {
			id := first + uint64(i)
			forwardWorkers.run(func() { ls.answer(id, s.runForwarded(r, j)) })
		}
	}
}

func (ls *leaderStream) close() {
	ls.mu.Lock()
	if !ls.dead {
		ls.dead = true
		close(ls.closed)
	}
	ls.mu.Unlock()
	_ = ls.conn.Close()
}

func (ls *leaderStream) answer(id uint64, a fwdAnswer) {
	ls.mu.Lock()
	if ls.dead {
		ls.mu.Unlock()
		return
	}
	ls.answers = append(ls.answers, streamAnswer{id, a})
	ls.mu.Unlock()
	select {
	case ls.wake <- struct{}{}:
	default:
	}
}

// writeLoop sends the answers done, as many a frame as are waiting.
func (ls *leaderStream) writeLoop() {
	var as, spare []streamAnswer
	var buf []byte
	for {
		select {
		case <-ls.wake:
		case <-ls.closed:
			return
		case <-ls.lost:
			// The answers not sent yet are not sent: the follower
			// answers their writes 503, as on a broken stream.
			ls.close()
			return
		}
		for {
			ls.mu.Lock()
			as, ls.answers = ls.answers, spare[:0]
			ls.mu.Unlock()
			if len(as) == 0 {
				spare = as
				break
			}
			buf = binary.AppendUvarint(buf[:0], uint64(len(as)))
			for _, a := range as {
				buf = binary.AppendUvarint(buf, a.id)
				buf = binary.AppendUvarint(buf, uint64(a.a.status))
				buf = appendHeader(buf, a.a.header)
				buf = appendBytes(buf, string(a.a.body))
			}
			clear(as)
			spare = as
			_ = ls.conn.SetWriteDeadline(time.Now().Add(ls.idle))
			if ls.out.write(buf) != nil {
				ls.close()
				return
			}
		}
	}
}
