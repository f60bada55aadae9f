package handjson

import (
	"encoding/json"
	"testing"
)

// FuzzAppendString checks the appender byte for byte against encoding/json,
// which every hand-written JSON encoder in the tree relies on it to match.
func FuzzAppendString(f *testing.F) {
	for _, seed := range []string{
		"", "eyJh.eyJk.pSP4", `we"ird<`, "x\u00e9", "점검 \"잠시\"", "a\\b\x00\x1f\x7f",
		"<script>&amp;</script>", "\u2028\u2029", "\xff\xfe", "\xe2\x80", "\xed\xa0\x80",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("AppendString(%q)\n got %s\nwant %s", s, got[1:], want)
		}
	})
}
