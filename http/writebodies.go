package http

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/internal/handjson"
)

// The bodies of committed writes, read and written without reflection.
// Every hold and order of a rush passes here, so the shapes the buyer page,
// the rush and the SDKs send (`{"quantity":1}`, `{"session":"…"}`) are read
// directly, and the hold and the order answered are appended by hand; any
// other shape goes through encoding/json, which decides. Both give the same
// result for the shapes read directly (FuzzWriteBodies), and the answers
// are byte for byte json.Marshal's (TestWriteAnswersAsJSONMarshal).

// quantityBody reads a body that is exactly `{"quantity":N}`.
func quantityBody(b []byte) (int64, bool) {
	rest, ok := handjson.CutPrefix(b, `{"quantity":`)
	if !ok {
		return 0, false
	}
	n, rest, ok := handjson.PlainInt(rest)
	return n, ok && string(rest) == "}"
}

// sessionBody reads a body that is exactly `{"session":"S"}`, S without
// escapes (a session token is base64url and a dot): S is b's bytes.
func sessionBody(b []byte) ([]byte, bool) {
	rest, ok := handjson.CutPrefix(b, `{"session":`)
	if !ok {
		return nil, false
	}
	s, rest, ok := handjson.PlainBytes(rest)
	return s, ok && string(rest) == "}"
}

// scratch holds the buffers a hold or an order is read into and its answer
// written in: reused, as a Writer never keeps what it is given to write.
var scratch = sync.Pool{New: func() any { return new([1024]byte) }}

// decodeHoldRequest reads the optional body of a hold: its quantity, and
// whether it has one.
func decodeHoldRequest(r *http.Request) (int64, bool, error) {
	buf := scratch.Get().(*[1024]byte)
	defer scratch.Put(buf)
	body, err := api.ReadBodyInto(r, buf[:0])
	if err != nil {
		return 0, false, err
	}
	if q, ok := quantityBody(body); ok {
		return q, true, nil
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return 0, false, nil
	}
	var req holdRequest
	if err := api.DecodeBytes(body, &req); err != nil || req.Quantity == nil {
		return 0, false, err
	}
	return *req.Quantity, true, nil
}

// orderCustomer reads the body of an order and returns the customer of its
// session. The buyer page sends no session: its session is the HttpOnly
// cookie. The call also needs the ticket as a bearer header, which another
// site cannot make a browser send, so the cookie is no CSRF risk.
func (s *Server) orderCustomer(r *http.Request) (string, error) {
	buf := scratch.Get().(*[1024]byte)
	defer scratch.Put(buf)
	body, err := api.ReadBodyInto(r, buf[:0])
	if err != nil {
		return "", err
	}
	session, ok := sessionBody(body)
	if ok && len(session) > 0 {
		// Checked where it was read: what the check returns is not these
		// bytes, which the next request reuses.
		return s.cfg.Sessions.VerifyBytes(session, s.cfg.Now())
	}
	var req orderRequest
	if !ok {
		if err := api.DecodeBytes(body, &req); err != nil {
			return "", err
		}
	}
	return s.buyer(r, req.Session, true, "\"session\" is required: sign in first; your hold is kept while you do.")
}

// writeHold answers a hold as api.WriteCreated does.
func writeHold(w http.ResponseWriter, created bool, h floodgate.Hold) {
	writeAppended(w, created, h, appendHold)
}

// writeOrder answers an order as api.WriteCreated does.
func writeOrder(w http.ResponseWriter, created bool, o floodgate.Order) {
	writeAppended(w, created, o, appendOrder)
}

// writeAppended answers v as api.WriteCreated does, appended by appendTo
// into a pooled buffer; what appendTo does not write goes through
// api.WriteCreated.
func writeAppended[T any](w http.ResponseWriter, created bool, v T, appendTo func([]byte, T) ([]byte, bool)) {
	buf := scratch.Get().(*[1024]byte)
	defer scratch.Put(buf)
	if b, ok := appendTo(buf[:0], v); ok {
		api.WriteJSONBytes(w, api.CreatedStatus(created), append(b, '\n'))
		return
	}
	api.WriteCreated(w, created, v)
}

// appendHold appends json.Marshal(h), or answers false for what it does not
// write as encoding/json does (a time it refuses).
func appendHold(b []byte, h floodgate.Hold) ([]byte, bool) {
	b = appendField(b, `{"id":`, h.ID)
	b = appendField(b, `,"drop":`, h.Drop)
	b = append(b, `,"quantity":`...)
	b = strconv.AppendInt(b, h.Quantity, 10)
	b = append(b, `,"expires_at":`...)
	b, ok := appendTime(b, h.ExpiresAt)
	b = appendField(b, `,"status":`, h.Status)
	if h.Paused {
		b = append(b, `,"paused":true`...)
	}
	return append(b, '}'), ok
}

// writeCreatedOrder answers the command that created order o: as
// writeOrder with o's receipt from SignReceiptAhead, the receipt signed
// where the answer is written (its header and payload are the signature's
// input), without a buffer of its own.
func (s *Server) writeCreatedOrder(w http.ResponseWriter, o floodgate.Order) {
	rs, p, ok := s.receiptOf(o.ID)
	if !ok {
		writeOrder(w, true, o)
		return
	}
	buf := scratch.Get().(*[1024]byte)
	defer scratch.Put(buf)
	b, ok := appendOrderFields(buf[:0], o)
	if !ok {
		o.Receipt = rs.SignReceiptAhead(p)
		api.WriteCreated(w, true, o)
		return
	}
	// A receipt is base64url and dots: nothing in it is escaped.
	b = rs.AppendReceiptAhead(append(b, `,"receipt":"`...), p)
	api.WriteJSONBytes(w, http.StatusCreated, append(b, "\"}\n"...))
}

// appendOrder appends json.Marshal(o), or answers false for what it does
// not write as encoding/json does.
func appendOrder(b []byte, o floodgate.Order) ([]byte, bool) {
	b, ok := appendOrderFields(b, o)
	if o.Receipt != "" {
		b = appendField(b, `,"receipt":`, o.Receipt)
	}
	return append(b, '}'), ok
}

// appendOrderFields is appendOrder but the receipt and the closing brace.
func appendOrderFields(b []byte, o floodgate.Order) ([]byte, bool) {
	b = appendField(b, `{"id":`, o.ID)
	b = appendField(b, `,"hold_id":`, o.HoldID)
	b = appendField(b, `,"drop":`, o.Drop)
	b = appendField(b, `,"customer":`, o.Customer)
	b = append(b, `,"quantity":`...)
	b = strconv.AppendInt(b, o.Quantity, 10)
	if o.Voucher != "" {
		b = appendField(b, `,"voucher":`, o.Voucher)
	}
	b = append(b, `,"created_at":`...)
	b, ok := appendTime(b, o.CreatedAt)
	b = appendField(b, `,"status":`, o.Status)
	if o.PayBy != nil {
		var ok2 bool
		b = append(b, `,"pay_by":`...)
		b, ok2 = appendTime(b, *o.PayBy)
		ok = ok && ok2
	}
	return b, ok
}

// appendField appends key and s as a JSON string, as encoding/json writes it.
func appendField(b []byte, key, s string) []byte {
	return handjson.AppendString(append(b, key...), s)
}

// appendTime appends t as encoding/json writes a time.Time (its own
// MarshalJSON), or answers false where that fails.
func appendTime(b []byte, t time.Time) ([]byte, bool) {
	j, err := t.AppendText(append(b, '"'))
	if err != nil {
		return b, false
	}
	return append(j, '"'), true
}
