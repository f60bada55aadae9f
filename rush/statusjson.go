package rush

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// parseQueueStatus reads a queue answer (join, poll, event) without
// reflection: the generator reads one for every request of the waiting
// room, and encoding/json's reflection was a fifth of its CPU. The answer is
// a flat object; anything else (nested values, escapes in a field the
// generator reads) goes to encoding/json, so the result is always what
// json.Unmarshal would give.
func parseQueueStatus(b []byte) (queueStatus, error) {
	var st queueStatus
	if err := scanFlat(b, func(key, raw []byte, str bool) bool {
		switch string(key) {
		case "ticket":
			if !str {
				return false
			}
			st.Ticket = string(raw)
		case "state":
			if !str {
				return false
			}
			st.State = string(raw)
		case "position", "ahead":
			n, err := strconv.ParseInt(string(raw), 10, 64)
			if str || err != nil {
				return false
			}
			if key[0] == 'p' {
				st.Position = n
			} else {
				st.Ahead = n
			}
		case "eta_seconds":
			f, err := strconv.ParseFloat(string(raw), 64)
			if str || err != nil {
				return false
			}
			st.EtaSeconds = f
		case "beyond_stock", "early":
			var v bool
			switch {
			case str:
				return false
			case string(raw) == "true":
				v = true
			case string(raw) == "false":
			case string(raw) == "null":
				if key[0] == 'e' {
					st.Early = nil
				}
				return true
			default:
				return false
			}
			if key[0] == 'b' {
				st.BeyondStock = v
			} else {
				st.Early = &v
			}
		default:
			// encoding/json matches keys without regard to case.
			for _, k := range statusKeys {
				if strings.EqualFold(string(key), k) {
					return false
				}
			}
		}
		return true
	}); err != nil {
		st = queueStatus{}
		return st, json.Unmarshal(b, &st)
	}
	return st, nil
}

var statusKeys = []string{"ticket", "state", "position", "ahead", "eta_seconds", "beyond_stock", "early"}

var errNotFlat = errors.New("not a flat JSON object")

// scanFlat calls f for every member of a JSON object whose values are
// strings without escapes, numbers, true, false or null; raw is the
// string's content or the literal. It fails on anything else, and when f
// returns false.
func scanFlat(b []byte, f func(key, raw []byte, str bool) bool) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errNotFlat
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return trailing(b, i+1)
	}
	for {
		key, j, ok := plainString(b, i)
		if !ok {
			return errNotFlat
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return errNotFlat
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return errNotFlat
		}
		var raw []byte
		str := b[i] == '"'
		if str {
			if raw, j, ok = plainString(b, i); !ok {
				return errNotFlat
			}
		} else {
			j = i
			for j < len(b) && (b[j] == '-' || b[j] == '+' || b[j] == '.' || (b[j] >= '0' && b[j] <= '9') || (b[j] >= 'a' && b[j] <= 'z') || (b[j] >= 'A' && b[j] <= 'Z')) {
				j++
			}
			if j == i {
				return errNotFlat
			}
			raw = b[i:j]
			if string(raw) != "true" && string(raw) != "false" && string(raw) != "null" && !isNumber(raw) {
				return errNotFlat
			}
		}
		if !f(key, raw, str) {
			return errNotFlat
		}
		i = skipSpace(b, j)
		if i >= len(b) {
			return errNotFlat
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return trailing(b, i+1)
		default:
			return errNotFlat
		}
	}
}

// plainString reads a string at b[i] that has no escapes and no control
// characters; j is just past its closing quote.
func plainString(b []byte, i int) (s []byte, j int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	high := false
	for j = i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			s = b[i+1 : j]
			if high && !utf8.Valid(s) {
				// encoding/json would replace what is not UTF-8.
				return nil, 0, false
			}
			return s, j + 1, true
		case c == '\\' || c < 0x20:
			return nil, 0, false
		case c >= 0x80:
			high = true
		}
	}
	return nil, 0, false
}

// isNumber reports whether b is a number as JSON writes one.
func isNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	return i == len(b)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func trailing(b []byte, i int) error {
	if skipSpace(b, i) != len(b) {
		return errNotFlat
	}
	return nil
}
