package rush

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// statusParser reads queue answers: the generator reads one for every
// request of the waiting room, and encoding/json's reflection was a fifth
// of its CPU. Parsers are reused, so reading an answer allocates only what
// it keeps (the ticket, Early).
type statusParser struct {
	p   fastjson.Parser
	num []byte // the literal of a number, for strconv
}

var statusParsers = sync.Pool{New: func() any { return new(statusParser) }}

// parseQueueStatus reads a queue answer (join, poll, event). The result is
// always what json.Unmarshal into a queueStatus gives, error or not: what
// fastjson and encoding/json would read differently (invalid UTF-8, \u
// escapes, control characters, keys that match a field only without regard
// to case, nesting deeper than fastjson goes, any error) is left to
// encoding/json.
func parseQueueStatus(b []byte) (queueStatus, error) {
	if !plain(b) || fastjson.ValidateBytes(b) != nil {
		return unmarshalQueueStatus(b)
	}
	sp := statusParsers.Get().(*statusParser)
	defer statusParsers.Put(sp)
	v, err := sp.p.ParseBytes(b)
	if err != nil {
		return unmarshalQueueStatus(b)
	}
	var st queueStatus
	switch v.Type() {
	case fastjson.TypeNull:
		return st, nil
	case fastjson.TypeObject:
	default:
		return unmarshalQueueStatus(b)
	}
	o, _ := v.Object()
	ok := true
	o.Visit(func(key []byte, v *fastjson.Value) {
		if ok {
			ok = sp.set(&st, key, v)
		}
	})
	if !ok {
		return unmarshalQueueStatus(b)
	}
	return st, nil
}

// plain reports whether b is valid UTF-8 without \u escapes and, inside
// the white space around it, without control characters. fastjson's
// validator lets a control character through in a string that has an
// escape after it ("\x00\b"), which encoding/json refuses.
func plain(b []byte) bool {
	for _, c := range bytes.Trim(b, " \t\r\n") {
		if c < 0x20 {
			return false
		}
	}
	return utf8.Valid(b) && !bytes.Contains(b, []byte(`\u`))
}

func unmarshalQueueStatus(b []byte) (queueStatus, error) {
	var st queueStatus
	err := json.Unmarshal(b, &st)
	return st, err
}

// set reads one member of a queue answer into st as encoding/json would:
// a later duplicate wins, null leaves a field as it is (and clears Early),
// a value of the wrong type is an error. It reports false for what it
// leaves to encoding/json.
func (sp *statusParser) set(st *queueStatus, key []byte, v *fastjson.Value) bool {
	if v.Type() == fastjson.TypeNull {
		if string(key) == "early" {
			st.Early = nil
		}
		return isStatusKey(key) || !foldsToStatusKey(key)
	}
	switch string(key) {
	case "ticket", "state":
		s, err := v.StringBytes()
		if err != nil {
			return false
		}
		if key[0] == 't' {
			st.Ticket = string(s)
		} else {
			st.State = queueState(s)
		}
	case "position", "ahead":
		n, ok := sp.intOf(v)
		if !ok {
			return false
		}
		if key[0] == 'p' {
			st.Position = n
		} else {
			st.Ahead = n
		}
	case "eta_seconds":
		f, ok := sp.floatOf(v)
		if !ok {
			return false
		}
		st.EtaSeconds = f
	case "beyond_stock", "early":
		b, err := v.Bool()
		if err != nil {
			return false
		}
		if key[0] == 'b' {
			st.BeyondStock = b
		} else {
			st.Early = boolPtr(b)
		}
	default:
		// encoding/json matches keys without regard to case.
		return !foldsToStatusKey(key)
	}
	return true
}

var statusKeys = []string{"ticket", "state", "position", "ahead", "eta_seconds", "beyond_stock", "early"}

func isStatusKey(key []byte) bool {
	for _, k := range statusKeys {
		if string(key) == k {
			return true
		}
	}
	return false
}

func foldsToStatusKey(key []byte) bool {
	for _, k := range statusKeys {
		if strings.EqualFold(string(key), k) {
			return true
		}
	}
	return false
}

// intOf and floatOf read a number from the literal the answer wrote, as
// encoding/json does (fastjson's own conversions round some floats
// differently and take 1e400 for infinity). A literal of at most 18 digits
// (every number the queue writes) is read here without allocating; any
// other goes through strconv.
func (sp *statusParser) intOf(v *fastjson.Value) (int64, bool) {
	if v.Type() != fastjson.TypeNumber {
		return 0, false
	}
	sp.num = v.MarshalTo(sp.num[:0])
	if n, ok := smallInt(sp.num); ok {
		return n, true
	}
	n, err := strconv.ParseInt(string(sp.num), 10, 64)
	return n, err == nil
}

func (sp *statusParser) floatOf(v *fastjson.Value) (float64, bool) {
	if v.Type() != fastjson.TypeNumber {
		return 0, false
	}
	sp.num = v.MarshalTo(sp.num[:0])
	if n, ok := smallInt(sp.num); ok && n != 0 {
		// Exact: below 2^53. (0 is left to strconv for the sign of -0.)
		return float64(n), true
	}
	f, err := strconv.ParseFloat(string(sp.num), 64)
	return f, err == nil
}

// smallInt reads an optional minus and 1 to 18 digits; ok is false for
// anything else.
func smallInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// boolPtr returns a pointer to a shared true or false, so reading "early"
// allocates nothing; nothing writes through it.
func boolPtr(b bool) *bool {
	if b {
		return &sharedTrue
	}
	return &sharedFalse
}

var sharedTrue, sharedFalse = true, false

// queueState returns the states the queue answers without allocating.
func queueState(s []byte) string {
	for _, known := range [...]string{"waiting", "admitted", "sold_out", "closed"} {
		if string(s) == known {
			return known
		}
	}
	return string(s)
}
