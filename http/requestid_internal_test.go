package http

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

// A request id made here fits the request's buffer whatever the counter
// (so it is made without an allocation at any count), and is the prefix and
// the counter in base 36, its own bytes: the next id, in another buffer,
// leaves it as it was.
func TestRequestIDFitsItsBuffer(t *testing.T) {
	if longest := len(requestPrefix) + len(strconv.FormatUint(math.MaxUint64, 36)); longest > requestIDLen {
		t.Fatalf("the longest request id has %d bytes, its buffer %d", longest, requestIDLen)
	}
	var a, b [requestIDLen]byte
	first := newRequestID(&a)
	want := strings.Clone(first)
	second := newRequestID(&b)
	n1, err1 := strconv.ParseUint(strings.TrimPrefix(first, requestPrefix), 36, 64)
	n2, err2 := strconv.ParseUint(strings.TrimPrefix(second, requestPrefix), 36, 64)
	if first != want || !strings.HasPrefix(first, requestPrefix) || !strings.HasPrefix(second, requestPrefix) || err1 != nil || err2 != nil || n2 <= n1 {
		t.Fatalf("ids %q then %q", first, second)
	}
}
