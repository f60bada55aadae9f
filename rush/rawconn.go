package rush

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// rawConn is one keep-alive HTTP/1.1 connection of a worker: the request is
// written from a reused buffer and the answer read with a reused reader, on
// the worker's goroutine. It understands what the API answers: a status
// line, headers, and a body of Content-Length bytes or chunked.
type rawConn struct {
	host string
	nc   net.Conn
	br   *bufio.Reader
	wbuf []byte
	used bool // a request was answered on nc: the server may have closed it since
}

// maxAnswer bounds the body of one answer (the orders list of a large drop
// is the largest the generator reads).
const maxAnswer = 64 << 20

func (rc *rawConn) close() {
	if rc.nc != nil {
		rc.nc.Close()
		rc.nc, rc.used = nil, false
	}
}

func (rc *rawConn) dial(ctx context.Context) error {
	d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", rc.host)
	if err != nil {
		return err
	}
	rc.nc, rc.used = nc, false
	if rc.br == nil {
		rc.br = bufio.NewReaderSize(nc, 4096)
	} else {
		rc.br.Reset(nc)
	}
	return nil
}

// errStale is a keep-alive connection the server closed before the request
// reached it; the request is sent again on a fresh one.
var errStale = errors.New("stale keep-alive connection")

// sendRaw performs one request on the worker's connection.
func (c *client) sendRaw(ctx context.Context, rc *rawConn, cl call) answer {
	if err := ctx.Err(); err != nil {
		return answer{err: err}
	}
	var body []byte
	if cl.body != nil {
		var err error
		if body, err = cl.bodyBytes(); err != nil {
			return answer{err: err}
		}
	}
	rc.wbuf = appendRequest(rc.wbuf[:0], rc.host, cl, body)
	start := time.Now()
	a, err := rc.roundTrip(ctx)
	if err == errStale {
		rc.close()
		a, err = rc.roundTrip(ctx)
	}
	if err != nil {
		rc.close()
		if d, ok := ctx.Deadline(); ok && isTimeout(err) && !time.Now().Before(d) {
			// The connection's deadline was the context's: the visitor
			// gave up (the rush ended), the request did not fail.
			a.latency = time.Since(start)
			return answer{err: context.DeadlineExceeded, latency: a.latency}
		}
	}
	a.latency = time.Since(start)
	return c.account(ctx, cl, a, err)
}

func (rc *rawConn) roundTrip(ctx context.Context) (answer, error) {
	if rc.nc == nil {
		if err := rc.dial(ctx); err != nil {
			return answer{}, err
		}
	}
	deadline := time.Now().Add(requestTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := rc.nc.SetDeadline(deadline); err != nil {
		return answer{}, err
	}
	reused := rc.used
	if _, err := rc.nc.Write(rc.wbuf); err != nil {
		if reused {
			return answer{}, errStale
		}
		return answer{}, err
	}
	if _, err := rc.br.Peek(1); err != nil {
		if reused && !isTimeout(err) {
			// Closed by the server while idle (EOF or a reset): not a
			// byte of an answer came, so the request was not taken.
			return answer{}, errStale
		}
		return answer{}, err
	}
	a, keep, err := readAnswer(rc.br)
	if err != nil {
		return answer{}, err
	}
	rc.used = true
	if !keep {
		rc.close()
	}
	return a, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// appendRequest writes the request line, the headers a visitor's browser
// sends, and the body.
func appendRequest(b []byte, host string, cl call, body []byte) []byte {
	b = append(b, cl.method...)
	b = append(b, ' ')
	b = append(b, cl.path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
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
		b = append(b, "Content-Type: application/json\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	} else if cl.method != "GET" && cl.method != "HEAD" {
		b = append(b, "Content-Length: 0\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, body...)
}

// readAnswer reads one answer: status, the headers the generator uses
// (Content-Length, Transfer-Encoding, Connection, Retry-After), and the
// body. keep is false when the connection cannot carry another request.
func readAnswer(br *bufio.Reader) (a answer, keep bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return a, false, err
	}
	// "HTTP/1.1 201 Created\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return a, false, fmt.Errorf("malformed status line %q", line)
	}
	a.status, err = strconv.Atoi(string(line[9:12]))
	if err != nil || a.status < 100 || a.status > 599 {
		return a, false, fmt.Errorf("malformed status line %q", line)
	}
	keep = line[7] == '1'
	length, chunked := int64(-1), false
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return a, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case headerIs(k, "Content-Length"):
			if length, err = strconv.ParseInt(string(v), 10, 64); err != nil || length < 0 {
				return a, false, fmt.Errorf("malformed Content-Length %q", v)
			}
		case headerIs(k, "Transfer-Encoding"):
			chunked = bytes.EqualFold(v, []byte("chunked"))
		case headerIs(k, "Connection"):
			if bytes.EqualFold(v, []byte("close")) {
				keep = false
			}
		case headerIs(k, "Retry-After"):
			a.retryAfter = parseRetryAfter(string(v))
		}
	}
	switch {
	case a.status < 200 || a.status == 204 || a.status == 304:
		// No body.
	case chunked:
		a.body, err = readChunked(br)
	case length >= 0:
		if length > maxAnswer {
			return a, false, fmt.Errorf("answer of %d bytes", length)
		}
		a.body = make([]byte, length)
		_, err = io.ReadFull(br, a.body)
	default:
		// Until the server closes the connection.
		a.body, err = io.ReadAll(io.LimitReader(br, maxAnswer))
		keep = false
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return a, keep && err == nil, err
}

func headerIs(k []byte, name string) bool { return bytes.EqualFold(k, []byte(name)) }

func readChunked(br *bufio.Reader) ([]byte, error) {
	var body []byte
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || n < 0 || int64(len(body))+n > maxAnswer {
			return nil, fmt.Errorf("malformed chunk size %q", line)
		}
		if n == 0 {
			// Trailers, then the empty line.
			for {
				t, err := br.ReadSlice('\n')
				if err != nil {
					return nil, err
				}
				if len(bytes.TrimRight(t, "\r\n")) == 0 {
					return body, nil
				}
			}
		}
		start := len(body)
		body = append(body, make([]byte, n)...)
		if _, err := io.ReadFull(br, body[start:]); err != nil {
			return nil, err
		}
		if _, err := br.Discard(2); err != nil {
			return nil, err
		}
	}
}

// bodyBytes is the request body: a []byte as it is, anything else as JSON.
func (cl call) bodyBytes() ([]byte, error) {
	if b, ok := cl.body.([]byte); ok {
		return b, nil
	}
	return json.Marshal(cl.body)
}

// The bodies visitors send most, encoded without reflection.
var holdBody = []byte(`{"quantity":1}`)

func orderBody(session string) []byte { return jsonObject("session", session) }

func sessionBody(email string) []byte { return jsonObject("email", email) }

// jsonObject encodes {"key":"value"}; value is escaped as JSON requires.
func jsonObject(key, value string) []byte {
	b := make([]byte, 0, len(key)+len(value)+8)
	b = append(b, `{"`...)
	b = append(b, key...)
	b = append(b, `":`...)
	b = appendJSONString(b, value)
	return append(b, '}')
}

func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
