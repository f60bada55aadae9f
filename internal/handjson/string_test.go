package handjson

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzAppendString checks the appender byte for byte against encoding/json,
// which every hand-written JSON encoder in the tree relies on it to match.
func FuzzAppendString(f *testing.F) {
	for _, seed := range []string{
		"", "eyJh.eyJk.pSP4", `we"ird<`, "x\u00e9", "점검 \"잠시\"", "a\\b\x00\x1f\x7f",
		"<script>&amp;</script>", "\u2028\u2029", "\xff\xfe", "\xe2\x80", "\xed\xa0\x80",
		"eyJhbGciOiJFZERTQSJ9.eyJ0eXBlIjoib3JkZXIifQ", "0123456789abcdef<", "01234567\u202889abcdef",
	} {
		f.Add(seed)
	}
	f.Fuzz(checkAppendString)
}

// TestAppendStringEightAtATime: a byte that AppendString escapes, or that
// starts a sequence it reads as a rune, is found wherever it stands among
// the eight bytes it skips at a time.
func TestAppendStringEightAtATime(t *testing.T) {
	for _, c := range []string{`"`, `\`, "<", ">", "&", "\x00", "\x1f", "\x7f", "\x80", "\xc3\xa9", "\u2028", "\xff", " ", "=", "?", "%", "'"} {
		for at := range 20 {
			checkAppendString(t, strings.Repeat("a", at)+c+strings.Repeat("b", 20-at))
		}
	}
}

// checkAppendString fails if AppendString(s) is not json.Marshal(s).
func checkAppendString(t *testing.T, s string) {
	t.Helper()
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := AppendString([]byte("x"), s); string(got) != "x"+string(want) {
		t.Errorf("AppendString(%q)\n got %s\nwant %s", s, got[1:], want)
	}
}
