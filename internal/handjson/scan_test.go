package handjson

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzPlainString: what PlainString reads is what json.Unmarshal reads from
// the same bytes.
func FuzzPlainString(f *testing.F) {
	for _, seed := range []string{`"abc",`, `""`, `"a\"b"`, `"\u00e9"`, "\"caf\xc3\xa9\"}", "\"\xff\"", "\"a\x01\"", `"unterminated`, `x`, "\"\x7f\"",
		`"0123456789abcdef\"x"`, "\"0123456789\x01abcdef\"", "\"01234567\xc3\xa989abcdefgh\"", `"0123456789abcdefg`} {
		f.Add(seed)
	}
	f.Fuzz(checkPlainString)
}

// TestPlainStringEightAtATime: a byte that ends a plain string or leaves
// it is found wherever it stands among the eight bytes read at a time.
func TestPlainStringEightAtATime(t *testing.T) {
	for _, c := range []string{`"`, `\`, "\x00", "\x1f", "\x7f", "\x80", "\xc3\xa9", "\xff", " ", "!", "#", "[", "]"} {
		for at := range 20 {
			checkPlainString(t, `"`+strings.Repeat("a", at)+c+strings.Repeat("b", 20-at)+`"`)
		}
	}
}

// checkPlainString fails if PlainString reads in other than as
// json.Unmarshal does.
func checkPlainString(t *testing.T, in string) {
	t.Helper()
	s, rest, ok := PlainString([]byte(in))
	if !ok {
		if string(rest) != in {
			t.Fatalf("PlainString(%q) refused but consumed input", in)
		}
		return
	}
	var want string
	n := len(in) - len(rest)
	if err := json.Unmarshal([]byte(in[:n]), &want); err != nil || want != s {
		t.Fatalf("PlainString(%q) = %q; json.Unmarshal(%q) = %q, %v", in, s, in[:n], want, err)
	}
}

// FuzzPlainInt: what PlainInt reads is what json.Unmarshal reads into an
// int64 and into a float64 from the same bytes.
func FuzzPlainInt(f *testing.F) {
	for _, seed := range []string{"0", "-0", "12,", "007", "-", "999999999999999}", "1234567890123456", "1.5", "1e3", "-42"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		v, rest, ok := PlainInt([]byte(in))
		if !ok {
			if string(rest) != in {
				t.Fatalf("PlainInt(%q) refused but consumed input", in)
			}
			return
		}
		n := len(in) - len(rest)
		var i int64
		var fl float64
		if err := json.Unmarshal([]byte(in[:n]), &i); err != nil || i != v {
			t.Fatalf("PlainInt(%q) = %d; json.Unmarshal into int64 = %d, %v", in, v, i, err)
		}
		if err := json.Unmarshal([]byte(in[:n]), &fl); err != nil || fl != float64(v) {
			t.Fatalf("PlainInt(%q) = %d; json.Unmarshal into float64 = %v, %v", in, v, fl, err)
		}
	})
}

func TestCutPrefix(t *testing.T) {
	for _, c := range []struct {
		in, prefix, rest string
		ok               bool
	}{
		{`{"a":1}`, `{"a":`, `1}`, true},
		{`{"a":1}`, `{"b":`, `{"a":1}`, false},
		{`{"`, `{"a":`, `{"`, false},
		{``, ``, ``, true},
	} {
		rest, ok := CutPrefix([]byte(c.in), c.prefix)
		if string(rest) != c.rest || ok != c.ok {
			t.Errorf("CutPrefix(%q, %q) = %q, %v; want %q, %v", c.in, c.prefix, rest, ok, c.rest, c.ok)
		}
	}
}

// PlainStringOf reads what PlainString reads, wherever in the input it
// starts, and takes the string from the input without a copy.
func FuzzPlainStringOf(f *testing.F) {
	for _, seed := range []string{`{"a":"abc","b":"d"}`, `""`, `"a\"b"`, "\"caf\xc3\xa9\"}", `"unterminated`} {
		f.Add(seed, uint8(0))
		f.Add(seed, uint8(5))
	}
	f.Fuzz(func(t *testing.T, in string, at uint8) {
		b := []byte(in)
		if int(at) > len(b) {
			return
		}
		b = b[at:]
		want, wantRest, wantOK := PlainString(b)
		got, rest, ok := PlainStringOf(in, b)
		if got != want || string(rest) != string(wantRest) || ok != wantOK {
			t.Fatalf("PlainStringOf(%q) at %d = %q, %q, %v; PlainString: %q, %q, %v", in, at, got, rest, ok, want, wantRest, wantOK)
		}
		if allocs := testing.AllocsPerRun(10, func() { PlainStringOf(in, b) }); allocs != 0 {
			t.Fatalf("PlainStringOf(%q) allocates %v times", in, allocs)
		}
	})
}

// FuzzPlainBytes: PlainBytes reads what PlainString reads, without the copy.
func FuzzPlainBytes(f *testing.F) {
	for _, seed := range []string{`"abc",`, `""`, `"a\"b"`, "\"caf\xc3\xa9\"}", "\"\xff\"", `x`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		b, rest, ok := PlainBytes([]byte(in))
		s, srest, sok := PlainString([]byte(in))
		if ok != sok || string(b) != s || string(rest) != string(srest) {
			t.Fatalf("PlainBytes(%q) = %q, %q, %v; PlainString = %q, %q, %v", in, b, rest, ok, s, srest, sok)
		}
	})
}
