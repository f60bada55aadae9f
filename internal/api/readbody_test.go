package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/floodgate/floodgate"
)

// A client that stops sending its body gets a clear JSON error once the
// server's read deadline passes, which does not name the server's addresses.
func TestReadBodyTimeoutIsAClearErrorWithoutAddresses(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := ReadBody(r)
		if err == nil {
			WriteJSON(w, http.StatusOK, struct{}{})
			return
		}
		WriteError(w, err)
	}))
	srv.Config.ReadTimeout = 300 * time.Millisecond
	srv.Start()
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":")
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body ErrorBody
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("status %d: the body is not the JSON error shape: %v", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusBadRequest || body.Error.Code != "invalid_argument" {
		t.Fatalf("got %d %+v, want 400 invalid_argument", resp.StatusCode, body.Error)
	}
	if strings.Contains(body.Error.Message, "127.0.0.1") || !strings.Contains(body.Error.Message, "in time") {
		t.Fatalf("message %q: want the reason in plain words, without addresses", body.Error.Message)
	}
}

// A value of the wrong JSON type is named in JSON's words, never by the
// server's Go type names.
func TestDecodeNamesWrongTypesInJSONWords(t *testing.T) {
	type inner struct {
		ID string `json:"id"`
	}
	var v struct {
		N     int64    `json:"n"`
		F     float64  `json:"f"`
		B     bool     `json:"b"`
		S     string   `json:"s"`
		L     []string `json:"l"`
		Inner *inner   `json:"inner"`
	}
	for body, want := range map[string]string{
		`{"n":"x"}`:     `field "n" must be an integer, not string`,
		`{"f":"x"}`:     `field "f" must be a number, not string`,
		`{"b":1}`:       `field "b" must be true or false, not number`,
		`{"s":{}}`:      `field "s" must be a string, not object`,
		`{"l":"x"}`:     `field "l" must be an array, not string`,
		`{"inner":"x"}`: `field "inner" must be an object, not string`,
		`[]`:            `expected an object, got array`,
	} {
		err := DecodeBytes([]byte(body), &v)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want it to say %q", body, err, want)
		}
		if err != nil && (strings.Contains(err.Error(), "int64") || strings.Contains(err.Error(), "api.")) {
			t.Errorf("%s: %v names a Go type", body, err)
		}
	}
}

// ReadBodyInto reads what ReadBody reads, whether the body fits the buffer
// or not, and however the body's reads are cut; it answers a body over
// MaxBody and a broken one as ReadBody does.
func TestReadBodyIntoAsReadBody(t *testing.T) {
	request := func(body io.Reader) *http.Request {
		r := httptest.NewRequest("POST", "/", nil)
		r.Body = io.NopCloser(body)
		return r
	}
	buf := make([]byte, 0, 64)
	for _, n := range []int{0, 1, 63, 64, 65, 200, MaxBody, MaxBody + 1, MaxBody + 200} {
		body := bytes.Repeat([]byte("x"), n)
		for _, cut := range []func(io.Reader) io.Reader{
			func(r io.Reader) io.Reader { return r },
			iotest.OneByteReader,
			iotest.HalfReader,
			iotest.DataErrReader,
		} {
			want, wantErr := ReadBody(request(cut(bytes.NewReader(body))))
			got, err := ReadBodyInto(request(cut(bytes.NewReader(body))), buf)
			if !bytes.Equal(got, want) || fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Fatalf("%d bytes: got %d bytes, %v; ReadBody: %d bytes, %v", n, len(got), err, len(want), wantErr)
			}
			if n > MaxBody && floodgate.ErrorCode(err) != floodgate.ETooLarge {
				t.Fatalf("%d bytes: %v, want too large", n, err)
			}
			if n <= cap(buf) && n > 0 && &got[0] != &buf[:1][0] {
				t.Fatalf("%d bytes: not read into the buffer", n)
			}
		}
	}
	broken := io.MultiReader(strings.NewReader("{\"a\":"), iotest.ErrReader(errors.New("read tcp 127.0.0.1:1: reset")))
	if _, err := ReadBodyInto(request(broken), buf); floodgate.ErrorCode(err) != floodgate.EInvalid || strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("a broken body: %v", err)
	}
	if got, err := ReadBodyInto(httptest.NewRequest("POST", "/", nil), buf); got != nil || err != nil {
		t.Fatalf("no body: %q, %v", got, err)
	}
}
