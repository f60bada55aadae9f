package rush

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
)

// wire is the keep-alive connection of one lane worker, which speaks
// HTTP/1.1 on it by hand: the request is appended to a buffer the worker
// keeps and written at once, the answer read into another and taken apart
// in place (status, Content-Length or chunks, Retry-After, Connection). A
// worker sends one request at a time, so the connection is its own: no
// pool, no header map, no URI to parse, and the connection's deadline is
// moved at most once a second. The answers of the monitor and the admin
// calls (the orders list of a large drop) go through fasthttp instead.
type wire struct {
	conn     net.Conn
	deadline time.Time // the deadline set on conn
	out      []byte    // the request being sent
	in       []byte    // read buffer; in[r:w] is read and not yet taken
	r, w     int
	chunks   []byte // the body of a chunked answer, joined
}

// wireEnd is where a wire connects to: the dial address, the Host header,
// the path the base URL puts before every request's, TLS or not.
type wireEnd struct {
	addr, host, prefix string
	tls                bool
}

// maxHeader bounds the status line and headers of one answer.
const maxHeader = 64 << 10

// errNoAnswer says a connection ended before any byte of an answer came:
// a keep-alive connection the server had closed while it was idle.
var errNoAnswer = errors.New("connection closed before an answer")

func (x *wire) close() {
	if x.conn != nil {
		x.conn.Close()
		x.conn = nil
	}
	x.r, x.w = 0, 0
}

// roundTrip sends cl and reads its answer. body is valid until the next
// roundTrip. A request on a reused connection that the server had closed
// (nothing came back: EOF, reset, broken pipe) is sent once more on a new
// one, as fasthttp did: it did not reach the server.
func (x *wire) roundTrip(end *wireEnd, cl *call, deadline time.Time) (status int, retryAfter time.Duration, body []byte, err error) {
	if err := x.request(end, cl); err != nil {
		return 0, 0, nil, err
	}
	for attempt := 0; ; attempt++ {
		fresh := x.conn == nil
		if fresh {
			if err := x.dial(end, deadline); err != nil {
				return 0, 0, nil, err
			}
		}
		if !x.deadline.Equal(deadline) {
			if err := x.conn.SetDeadline(deadline); err != nil {
				x.close()
				return 0, 0, nil, err
			}
			x.deadline = deadline
		}
		var closeAfter bool
		if _, err = x.conn.Write(x.out); err == nil {
			status, retryAfter, body, closeAfter, err = x.answer()
		}
		if err == nil {
			if closeAfter {
				x.close()
			}
			return status, retryAfter, body, nil
		}
		x.close()
		if fresh || attempt > 0 || !(errors.Is(err, errNoAnswer) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
			return 0, 0, nil, err
		}
	}
}

func (x *wire) dial(end *wireEnd, deadline time.Time) error {
	d := net.Dialer{Timeout: min(time.Until(deadline), 5*time.Second), KeepAlive: 30 * time.Second}
	var (
		c   net.Conn
		err error
	)
	if end.tls {
		c, err = (&tls.Dialer{NetDialer: &d}).Dial("tcp", end.addr)
	} else {
		c, err = d.Dial("tcp", end.addr)
	}
	if err != nil {
		return err
	}
	x.conn, x.deadline, x.r, x.w = c, time.Time{}, 0, 0
	if len(x.in) == 0 {
		x.in = make([]byte, 4096)
	}
	return nil
}

// request appends cl as HTTP/1.1 to x.out: the headers a visitor's
// browser sends (what fasthttp sent: no User-Agent).
func (x *wire) request(end *wireEnd, cl *call) error {
	var body []byte
	if cl.body != nil {
		var err error
		if body, err = cl.bodyBytes(); err != nil {
			return err
		}
	}
	b := x.out[:0]
	b = append(b, cl.method...)
	b = append(b, ' ')
	b = append(b, end.prefix...)
	b = append(b, cl.path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, end.host...)
	b = append(b, "\r\nAccept: application/json\r\n"...)
	if cl.bearer != "" {
		b = append(b, "Authorization: Bearer "...)
		b = append(b, cl.bearer...)
		b = append(b, "\r\n"...)
	}
	if cl.forward != "" {
		b = append(b, "X-Forwarded-For: "...)
		b = append(b, cl.forward...)
		b = append(b, "\r\n"...)
	}
	if cl.idemKey != "" {
		b = append(b, "Idempotency-Key: "...)
		b = append(b, cl.idemKey...)
		b = append(b, "\r\n"...)
	}
	if cl.body != nil {
		b = append(b, "Content-Type: application/json\r\n"...)
	}
	if cl.body != nil || cl.method != "GET" {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	x.out = append(b, body...)
	return nil
}

// fill reads more of the answer into x.in, growing it up to limit bytes
// in all; got says whether any byte of this answer came already.
func (x *wire) fill(limit int, got bool) error {
	if x.w == len(x.in) {
		if x.r > 0 {
			x.w = copy(x.in, x.in[x.r:x.w])
			x.r = 0
		} else {
			if len(x.in) >= limit {
				return fmt.Errorf("answer larger than %d bytes", limit)
			}
			x.in = append(x.in, make([]byte, min(len(x.in), limit-len(x.in)))...)
			x.in = x.in[:cap(x.in)]
		}
	}
	n, err := x.conn.Read(x.in[x.w:])
	x.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	if err == io.EOF && !got {
		return errNoAnswer
	}
	return err
}

// answer reads one answer: its status, Retry-After, body (in x.in or
// x.chunks) and whether the server closes the connection after it.
func (x *wire) answer() (status int, retryAfter time.Duration, body []byte, closeAfter bool, err error) {
	if x.r != x.w {
		// Bytes nobody asked for: the connection is out of step.
		return 0, 0, nil, false, errors.New("unexpected bytes before an answer")
	}
	x.r, x.w = 0, 0
	var hdrEnd int
	for {
		if i := bytes.Index(x.in[x.r:x.w], []byte("\r\n\r\n")); i >= 0 {
			hdrEnd = x.r + i + 4
			break
		}
		if err := x.fill(maxHeader, x.w > x.r); err != nil {
			return 0, 0, nil, false, err
		}
	}
	head := x.in[x.r : hdrEnd-2]
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, 0, nil, false, fmt.Errorf("malformed status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil || status < 100 || status > 599 {
		return 0, 0, nil, false, fmt.Errorf("malformed status line %q", line)
	}
	closeAfter = line[7] == '0'
	length, chunked := -1, false
	for len(rest) > 0 {
		var h []byte
		h, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.Atoi(string(value))
			if err != nil || n < 0 {
				return 0, 0, nil, false, fmt.Errorf("malformed Content-Length %q", value)
			}
			length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Retry-After")):
			retryAfter = parseRetryAfter(string(value))
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				closeAfter = true
			} else if bytes.EqualFold(value, []byte("keep-alive")) {
				closeAfter = false
			}
		}
	}
	x.r = hdrEnd
	switch {
	case status < 200 || status == 204 || status == 304:
		return status, retryAfter, nil, closeAfter, nil
	case chunked:
		body, err = x.readChunks()
	case length >= 0:
		if length > maxAnswer {
			return 0, 0, nil, false, fmt.Errorf("answer of %d bytes", length)
		}
		for x.w-x.r < length {
			if err := x.fill(x.r+length+maxHeader, true); err != nil {
				return 0, 0, nil, false, err
			}
		}
		body = x.in[x.r : x.r+length]
		x.r += length
	default:
		// No length: the body ends with the connection.
		for {
			err := x.fill(maxAnswer+maxHeader, true)
			if err == io.EOF {
				break
			}
			if err != nil {
				return 0, 0, nil, false, err
			}
		}
		body, x.r, closeAfter = x.in[x.r:x.w], x.w, true
	}
	if err != nil {
		return 0, 0, nil, false, err
	}
	if x.r == x.w {
		x.r, x.w = 0, 0
	}
	return status, retryAfter, body, closeAfter, nil
}

// readChunks reads a chunked body into x.chunks.
func (x *wire) readChunks() ([]byte, error) {
	x.chunks = x.chunks[:0]
	line := func() ([]byte, error) {
		for {
			if i := bytes.Index(x.in[x.r:x.w], []byte("\r\n")); i >= 0 {
				l := x.in[x.r : x.r+i]
				x.r += i + 2
				return l, nil
			}
			if err := x.fill(x.r+maxHeader, true); err != nil {
				return nil, err
			}
		}
	}
	for {
		l, err := line()
		if err != nil {
			return nil, err
		}
		if i := bytes.IndexByte(l, ';'); i >= 0 {
			l = l[:i]
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(l)), 16, 64)
		if err != nil || n < 0 || int64(len(x.chunks))+n > maxAnswer {
			return nil, fmt.Errorf("malformed chunk size %q", l)
		}
		if n == 0 {
			for { // trailers, up to the empty line
				l, err := line()
				if err != nil {
					return nil, err
				}
				if len(l) == 0 {
					return x.chunks, nil
				}
			}
		}
		for x.w-x.r < int(n)+2 {
			if x.w == len(x.in) && x.r > 0 {
				// Take what came, so that a large chunk needs no large buffer.
				k := min(x.w-x.r, int(n))
				x.chunks = append(x.chunks, x.in[x.r:x.r+k]...)
				x.r += k
				n -= int64(k)
			}
			if err := x.fill(x.r+int(n)+2+maxHeader, true); err != nil {
				return nil, err
			}
		}
		x.chunks = append(x.chunks, x.in[x.r:x.r+int(n)]...)
		if !bytes.Equal(x.in[x.r+int(n):x.r+int(n)+2], []byte("\r\n")) {
			return nil, errors.New("malformed chunk end")
		}
		x.r += int(n) + 2
	}
}

// isTimeout reports whether err is a connection's deadline passing.
func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}
