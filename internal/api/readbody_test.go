package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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
