package rush

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/floodgate/floodgate/internal/handjson"
)

// parseQueueStatus reads a queue answer (join, poll, event). The generator
// reads one for most of its requests, so the shape the queue writes (a flat
// object of plain strings, numbers and booleans: queue.Status.AppendJSON) is
// read by hand without allocating (readQueueStatus); anything else (escapes,
// nested values, keys that match a field only without regard to case, any
// error) goes to encoding/json. The result is always what json.Unmarshal
// into a queueStatus gives, error or not.
func parseQueueStatus(b []byte) (queueStatus, error) {
	if st, ok := readQueueStatus(b); ok {
		return st, nil
	}
	var st queueStatus
	err := json.Unmarshal(b, &st)
	return st, err
}

// readQueueStatus reads b as json.Unmarshal would into a queueStatus (a
// later duplicate wins, null leaves a field as it is and clears Early,
// unknown members are skipped), or reports false for what it leaves to
// encoding/json.
func readQueueStatus(b []byte) (st queueStatus, ok bool) {
	b = skipSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return st, false
	}
	b = skipSpace(b[1:])
	if len(b) > 0 && b[0] == '}' {
		return st, len(skipSpace(b[1:])) == 0
	}
	for {
		var key []byte
		if key, b, ok = handjson.PlainBytes(b); !ok {
			return st, false
		}
		b = skipSpace(b)
		if len(b) == 0 || b[0] != ':' {
			return st, false
		}
		if b, ok = st.readMember(key, skipSpace(b[1:])); !ok {
			return st, false
		}
		b = skipSpace(b)
		switch {
		case len(b) == 0:
			return st, false
		case b[0] == '}':
			return st, len(skipSpace(b[1:])) == 0
		case b[0] != ',':
			return st, false
		}
		b = skipSpace(b[1:])
	}
}

// readMember reads the value of member key at the start of b into st and
// returns the rest of b.
func (st *queueStatus) readMember(key, b []byte) ([]byte, bool) {
	if len(b) == 0 {
		return b, false
	}
	if b[0] == 'n' {
		rest, ok := handjson.CutPrefix(b, "null")
		if !ok {
			return b, false
		}
		switch string(key) {
		case "early":
			st.Early = nil
		case "ticket", "state", "position", "ahead", "eta_seconds", "beyond_stock":
		default:
			if foldsToStatusKey(key) {
				return b, false
			}
		}
		return rest, true
	}
	switch string(key) {
	case "ticket", "state":
		s, rest, ok := handjson.PlainBytes(b)
		if !ok {
			return b, false
		}
		if key[0] == 't' {
			st.Ticket = string(s)
		} else {
			st.State = queueState(s)
		}
		return rest, true
	case "position", "ahead":
		n, rest, ok := handjson.PlainInt(b)
		if !ok || !endOfNumber(rest) {
			return b, false
		}
		if key[0] == 'p' {
			st.Position = n
		} else {
			st.Ahead = n
		}
		return rest, true
	case "eta_seconds":
		lit, rest, ok := numberLiteral(b)
		if !ok {
			return b, false
		}
		if n, r, ok := handjson.PlainInt(lit); ok && len(r) == 0 && n != 0 {
			// Exact in a float64. (0 is left to strconv for the sign of -0.)
			st.EtaSeconds = float64(n)
			return rest, true
		}
		f, err := strconv.ParseFloat(string(lit), 64)
		if err != nil {
			return b, false
		}
		st.EtaSeconds = f
		return rest, true
	case "beyond_stock", "early":
		v, rest, ok := boolLiteral(b)
		if !ok {
			return b, false
		}
		if key[0] == 'b' {
			st.BeyondStock = v
		} else {
			st.Early = boolPtr(v)
		}
		return rest, true
	}
	if foldsToStatusKey(key) {
		// encoding/json matches keys without regard to case.
		return b, false
	}
	// Another member: skipped if it is a plain scalar.
	switch b[0] {
	case '"':
		_, rest, ok := handjson.PlainBytes(b)
		return rest, ok
	case 't', 'f':
		_, rest, ok := boolLiteral(b)
		return rest, ok
	}
	_, rest, ok := numberLiteral(b)
	return rest, ok
}

var statusKeys = []string{"ticket", "state", "position", "ahead", "eta_seconds", "beyond_stock", "early"}

// foldsToStatusKey reports whether key is one of statusKeys without regard
// to case, or is not plain ASCII (encoding/json folds some other letters
// too, such as the long s and the Kelvin sign).
func foldsToStatusKey(key []byte) bool {
	for _, c := range key {
		if c >= 0x80 {
			return true
		}
	}
	for _, k := range statusKeys {
		if strings.EqualFold(string(key), k) {
			return true
		}
	}
	return false
}

func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}

func boolLiteral(b []byte) (v bool, rest []byte, ok bool) {
	if rest, ok := handjson.CutPrefix(b, "true"); ok {
		return true, rest, true
	}
	rest, ok = handjson.CutPrefix(b, "false")
	return false, rest, ok
}

// numberLiteral reads a JSON number -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
// at the start of b, and returns it and the rest of b.
func numberLiteral(b []byte) (lit, rest []byte, ok bool) {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return nil, b, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return nil, b, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return nil, b, false
		}
		i = j
	}
	if !endOfNumber(b[i:]) {
		return nil, b, false
	}
	return b[:i], b[i:], true
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// endOfNumber reports whether what follows a number may end it: the end of
// the input, white space, or the end of a member or object.
func endOfNumber(rest []byte) bool {
	if len(rest) == 0 {
		return true
	}
	switch rest[0] {
	case ',', '}', ' ', '\t', '\n', '\r':
		return true
	}
	return false
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
