// Package api holds the JSON conventions of the HTTP API shared by every
// handler package: strict decoding with a size limit, JSON answers, and the
// single mapping from error codes to HTTP statuses.
package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/floodgate/floodgate"
)

// MaxBody is the largest request body accepted (1 MiB).
const MaxBody = 1 << 20

// Status returns the HTTP status for an error code. It is the only place in
// Floodgate where codes become statuses.
func Status(code string) int {
	switch code {
	case floodgate.EInvalid:
		return http.StatusBadRequest
	case floodgate.EUnauthenticated:
		return http.StatusUnauthorized
	case floodgate.ENotAdmitted, floodgate.EForbidden:
		return http.StatusForbidden
	case floodgate.ENotFound:
		return http.StatusNotFound
	case floodgate.ESoldOut, floodgate.ELimitExceeded, floodgate.EHoldExpired,
		floodgate.EAlreadyOrdered, floodgate.EConflict, floodgate.EPaymentExpired, floodgate.EQuotaExceeded:
		return http.StatusConflict
	case floodgate.EChallenge:
		return http.StatusPreconditionRequired
	case floodgate.ETooLarge:
		return http.StatusRequestEntityTooLarge
	case floodgate.ERateLimited:
		return http.StatusTooManyRequests
	case floodgate.EUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// ErrorBody is the body of every non-2xx answer.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// WriteError writes err in the API error shape. 429 and 503 answers carry
// Retry-After (retryAfter seconds, at least 1).
func WriteError(w http.ResponseWriter, err error) {
	WriteErrorRetry(w, err, 1)
}

// ErrorLogger is implemented by a ResponseWriter that knows its request (the
// API's middleware wraps every answer in one), so that an unexpected error is
// logged with the request id where it becomes an answer.
type ErrorLogger interface {
	LogError(err error)
}

// logUnexpected logs an internal error through the first ErrorLogger that w
// is or wraps, else through the default logger. Coded errors other than
// internal are answers like any other and are not logged.
func logUnexpected(w http.ResponseWriter, err error) {
	for {
		if l, ok := w.(ErrorLogger); ok {
			l.LogError(err)
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			slog.Error("unexpected error", "err", err)
			return
		}
		w = u.Unwrap()
	}
}

// WriteErrorRetry is WriteError with an explicit Retry-After for 429 and 503.
// Internal errors are logged (see ErrorLogger); the buyer sees only a
// generic message.
func WriteErrorRetry(w http.ResponseWriter, err error, retryAfter int) {
	code := floodgate.ErrorCode(err)
	if code == floodgate.EInternal {
		logUnexpected(w, err)
	}
	status := Status(code)
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		if retryAfter < 1 {
			retryAfter = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	var b ErrorBody
	b.Error.Code = code
	b.Error.Message = floodgate.ErrorMessage(err)
	WriteJSON(w, status, b)
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	buf, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":{"code":"internal","message":"could not encode the answer"}}`, http.StatusInternalServerError)
		return
	}
	buf = append(buf, '\n')
	WriteJSONBytes(w, status, buf)
}

// WriteCreated writes v as JSON: 201 Created when the request made it, 200
// when it was there already (an idempotent repeat answers what the first
// request made).
func WriteCreated(w http.ResponseWriter, created bool, v any) {
	WriteJSON(w, CreatedStatus(created), v)
}

// CreatedStatus is the status of an answer that created what it returns
// (201) or found it created already (200).
func CreatedStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

// WriteJSONBytes writes an already encoded JSON body with the given status.
func WriteJSONBytes(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonType
	h["Content-Length"] = contentLength(len(body))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// jsonType and the lengths below are header values shared by every answer:
// net/http copies a handler's header before it writes it, and values are
// replaced (Header.Set), never written in place.
var (
	jsonType = []string{"application/json"}
	lengths  = func() [][]string {
		vals := make([]string, 1024)
		l := make([][]string, len(vals))
		for i := range vals {
			vals[i] = strconv.Itoa(i)
			l[i] = vals[i : i+1 : i+1]
		}
		return l
	}()
)

// contentLength is the Content-Length header value of n bytes.
func contentLength(n int) []string {
	if n < len(lengths) {
		return lengths[n]
	}
	return []string{strconv.Itoa(n)}
}

// ReadBody reads at most MaxBody bytes of the request body. A larger body is
// an ETooLarge error.
func ReadBody(r *http.Request) ([]byte, error) {
	return ReadBodyInto(r, nil)
}

// ReadBodyInto is ReadBody reading into buf (from its start): the body it
// returns is buf's bytes when it fits there, a new slice otherwise. The
// small bodies of hot requests are read into a reused buffer this way.
func ReadBodyInto(r *http.Request, buf []byte) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	n, err := readFull(r.Body, buf[:cap(buf)])
	buf = buf[:n]
	if err == nil {
		// buf is full: the rest as io.ReadAll reads it, up to the limit.
		var more []byte
		more, err = io.ReadAll(io.LimitReader(r.Body, MaxBody+1-int64(n)))
		if n == 0 {
			buf = more
		} else if len(more) > 0 {
			buf = append(buf[:n:n], more...)
		}
	} else if err == io.EOF {
		err = nil
	}
	if err != nil {
		// The reason is the connection's (a deadline, a reset), and its
		// text names this server's addresses: say what happened instead.
		var ne net.Error
		if errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
			return nil, floodgate.Errorf(floodgate.EInvalid, "The request body did not arrive in time; send it whole and at once.")
		}
		return nil, floodgate.Errorf(floodgate.EInvalid, "The request body could not be read: the connection broke while it was sent.")
	}
	if len(buf) > MaxBody {
		return nil, floodgate.Errorf(floodgate.ETooLarge, "The request body is larger than 1 MiB; send less.")
	}
	return buf, nil
}

// readFull reads into buf until it is full (nil error) or the reader ends
// (io.EOF) or fails.
func readFull(rd io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := rd.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Decode reads the request body as one JSON object into v. Unknown fields,
// wrong types, trailing data and bodies over 1 MiB are rejected with a message
// that names the problem.
func Decode(r *http.Request, v any) error {
	buf, err := ReadBody(r)
	if err != nil {
		return err
	}
	return DecodeBytes(buf, v)
}

// DecodeBytes is Decode on a body already read.
func DecodeBytes(buf []byte, v any) error {
	if len(bytes.TrimSpace(buf)) == 0 {
		return floodgate.Errorf(floodgate.EInvalid, "The request body is empty; send a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(buf))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return floodgate.Errorf(floodgate.EInvalid, "The request body is not valid: %s.", describeJSONError(err))
	}
	if dec.More() {
		return floodgate.Errorf(floodgate.EInvalid, "The request body has data after the JSON object; send exactly one object.")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return floodgate.Errorf(floodgate.EInvalid, "The request body has data after the JSON object; send exactly one object.")
	}
	if err := checkKeys(buf, reflect.TypeOf(v)); err != nil {
		return floodgate.Errorf(floodgate.EInvalid, "The request body is not valid: %s.", err)
	}
	return nil
}

func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %q must be %s, not %s", typ.Field, jsonKind(typ.Type), typ.Value)
		}
		return fmt.Sprintf("expected %s, got %s", jsonKind(typ.Type), typ.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	default:
		return err.Error()
	}
}

// jsonKind names what JSON a Go type takes, in the client's words rather
// than the server's type names.
func jsonKind(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a string"
		}
		return "an array"
	case reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a value"
}

// BearerToken returns the token of an "Authorization: Bearer <token>" header,
// or "" when there is none.
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// TicketToken is the ticket a request carries, as Ticket reads it; "" when
// it carries none.
func TicketToken(r *http.Request) string {
	if tok := BearerToken(r); tok != "" {
		return tok
	}
	if r.URL.RawQuery == "" {
		return ""
	}
	return r.URL.Query().Get("ticket")
}

// Ticket returns the queue ticket of a request: the Authorization bearer
// token, or ?ticket= for EventSource, which cannot send headers. Without
// one it returns "" and an unauthenticated error that says how to get one.
func Ticket(r *http.Request) (string, error) {
	tok := TicketToken(r)
	if tok == "" {
		return "", floodgate.Errorf(floodgate.EUnauthenticated, "A ticket is required: send \"Authorization: Bearer <ticket>\" from POST /api/v1/drops/{drop}/queue.")
	}
	return tok, nil
}

// probeMethods are the methods tried to tell "wrong method" from "no such path".
var probeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// Unrouted answers a request that no route of mux took, in the API error
// shape: 405 method_not_allowed-as-invalid_argument with Allow when the path
// exists under other methods, else 404 not_found. Patterns in ignore (such
// as a catch-all) do not count as routes.
func Unrouted(mux *http.ServeMux, ignore ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range probeMethods {
			if m == r.Method {
				continue
			}
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, p := mux.Handler(probe); p != "" && !slices.Contains(ignore, p) {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			var b ErrorBody
			b.Error.Code = floodgate.EInvalid
			b.Error.Message = fmt.Sprintf("%s is not allowed on %s; use %s.", r.Method, r.URL.Path, strings.Join(allow, " or "))
			WriteJSON(w, http.StatusMethodNotAllowed, b)
			return
		}
		WriteError(w, floodgate.Errorf(floodgate.ENotFound, "There is no endpoint %s %s; see docs/openapi.yaml for the API.", r.Method, r.URL.Path))
	}
}

// Routed serves mux, answering requests no route takes with Unrouted.
func Routed(mux *http.ServeMux) http.Handler {
	unrouted := Unrouted(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, p := mux.Handler(r); p == "" {
			unrouted(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}
