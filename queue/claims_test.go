package queue

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/floodgate/floodgate/internal/nice"
)

// fuzzClaims builds claims from fuzzed values; flags chooses which of the
// optional fields are set.
func fuzzClaims(drop, vid, other string, seq, pos, exp, iat int64, flags uint8) *Claims {
	c := &Claims{Drop: drop, Visitor: vid, Early: flags&1 != 0, Seq: seq, Position: pos}
	date := func(s int64) *jwt.NumericDate {
		// Fractions of a second and times far from now, both signs.
		return jwt.NewNumericDate(time.Unix(s%(1<<40), (s>>3)%1e9))
	}
	if flags&2 != 0 {
		c.ExpiresAt = date(exp)
	}
	if flags&4 != 0 {
		c.IssuedAt = date(iat)
	}
	if flags&8 != 0 {
		c.NotBefore = date(iat ^ exp)
	}
	if flags&16 != 0 {
		c.Issuer = other
	}
	if flags&32 != 0 {
		c.Subject = other + drop
	}
	if flags&64 != 0 {
		c.ID = vid + other
	}
	if flags&128 != 0 {
		c.Audience = jwt.ClaimStrings{other}
	}
	return c
}

// The payload SignTicket writes is what json.Marshal writes, byte for byte.
func FuzzClaimsJSON(f *testing.F) {
	f.Add("lamp-2026", "yPn6cE7RrBDu6M7xBJYD7Q", "", int64(9), int64(201), int64(1796010939), int64(1795406139), uint8(6))
	f.Add("a\"b\\c<d>e&f", "\x00\x01\x08\x0c\n\r\t\x1f\x7f", "\u2028\u2029é日本", int64(-1), int64(-5), int64(-62135596800), int64(0), uint8(255))
	f.Add("\xff\xfe\xc3", "\xe2\x80", "\xed\xa0\x80", int64(1<<62), int64(0), int64(1)<<40, int64(-1), uint8(127))
	f.Fuzz(func(t *testing.T, drop, vid, other string, seq, pos, exp, iat int64, flags uint8) {
		c := fuzzClaims(drop, vid, other, seq, pos, exp, iat, flags)
		want, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendClaims(nil, c)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("appendClaims(%+v)\n got %s (%v)\nwant %s", c, got, err, want)
		}
	})
}

func TestClaimsJSONRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", "0", "-", "_", "\"", "\\", "<", ">", "&", "\x00", "\x1f", "\x7f", "\n", "\b", "\f", "é", "日", "\u2028", "\u2029", "\xff", "\xc3", "\xe2\x80", "\xed\xa0\x80", "\U0001F600", " "}
	str := func() string {
		var b []byte
		for range r.IntN(12) {
			b = append(b, alphabet[r.IntN(len(alphabet))]...)
		}
		return string(b)
	}
	num := func() int64 {
		switch r.IntN(4) {
		case 0:
			return 0
		case 1:
			return r.Int64N(1000) - 10
		case 2:
			return r.Int64()
		}
		return -r.Int64()
	}
	for range 20000 {
		c := fuzzClaims(str(), str(), str(), num(), num(), num(), num(), uint8(r.Uint32()))
		want, _ := json.Marshal(c)
		got, err := appendClaims(nil, c)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("appendClaims(%+v)\n got %s (%v)\nwant %s", c, got, err, want)
		}
	}
}

// The payload decoder accepts and refuses exactly as json.Unmarshal into
// the flat struct does, and decodes the same values.
func FuzzClaimsDecode(f *testing.F) {
	now := time.Unix(1796010939, 0)
	for _, c := range []*Claims{
		{Drop: "lamp", Visitor: "yPn6cE7RrBDu6M7xBJYD7Q", Seq: 9, Position: 201, RegisteredClaims: jwt.RegisteredClaims{IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(TicketTTL))}},
		{Drop: "é<", Visitor: "v\"1", Early: true, Seq: 0, RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(now)}},
	} {
		b, _ := json.Marshal(c)
		f.Add(b)
	}
	for _, s := range []string{
		`{"drop":"d","vid":"v","seq":1,"exp":2}`,
		`{"drop":"d","vid":"v","seq":-0,"exp":-0,"iat":1}`,
		`{"drop":"d","vid":"v","seq":01,"exp":2}`,
		`{"drop":"d","vid":"v","seq":1,"exp":2.5}`,
		`{"drop":"d","vid":"v","seq":1,"exp":2e3}`,
		`{"drop":"d","vid":"v","seq":1,"exp":2}x`,
		`{"drop":"d","vid":"v","seq":1,"exp":2} `,
		`{"drop":"d\u0000","vid":"\xff","seq":1,"exp":2}`,
		`{"drop":"d","vid":"v","early":false,"seq":1,"exp":2}`,
		`{"drop":"d","vid":"v","seq":9223372036854775808,"exp":2}`,
		`{"drop":"d","vid":"v","seq":123456789012345,"pos":1234567890123456,"exp":2}`,
		`{"Drop":"d","vid":"v","seq":1,"exp":2,"drop":"e"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want flatClaims
		wantErr := json.Unmarshal(b, &want)
		if fast, ok := decodeClaimsFast(b); ok {
			if wantErr != nil || fast != want {
				t.Fatalf("%q: fast decoder gave %+v, json.Unmarshal %+v, %v", b, fast, want, wantErr)
			}
		}
		got, gotErr := decodeFlatClaims(b)
		if (gotErr == nil) != (wantErr == nil) || (gotErr == nil && got != want) {
			t.Fatalf("%q: decodeFlatClaims = %+v, %v; json.Unmarshal %+v, %v", b, got, gotErr, want, wantErr)
		}
	})
}

// Every payload SignTicket writes for ordinary claims takes the fast path.
func TestClaimsDecodeFastPath(t *testing.T) {
	now := time.Unix(1796010939, 0)
	for _, c := range []*Claims{
		{Drop: "lamp", Visitor: "yPn6cE7RrBDu6M7xBJYD7Q", Seq: 9, Position: 201, RegisteredClaims: jwt.RegisteredClaims{IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(TicketTTL))}},
		{Drop: "lamp", Visitor: "yPn6cE7RrBDu6M7xBJYD7Q", Early: true, RegisteredClaims: jwt.RegisteredClaims{IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(TicketTTL))}},
	} {
		b, _ := appendClaims(nil, c)
		f, ok := decodeClaimsFast(b)
		if !ok {
			t.Fatalf("%s: not on the fast path", b)
		}
		if f.Drop != c.Drop || f.Visitor != c.Visitor || f.Early != c.Early || f.Seq != c.Seq || f.Pos != c.Position ||
			f.Exp != float64(c.ExpiresAt.Unix()) || f.Iat != float64(c.IssuedAt.Unix()) {
			t.Fatalf("%s decoded as %+v", b, f)
		}
	}
}

// BenchmarkVerifyMAC is a node's Verify of a ticket it has not cached: the
// MAC check and the claims' decoding.
func BenchmarkVerifyMAC(b *testing.B) {
	k := DeriveKeys([]byte("a secret of the cluster, for a test"))
	now := time.Unix(1796010939, 0)
	c := &Claims{Drop: "lamp", Visitor: "yPn6cE7RrBDu6M7xBJYD7Q", Seq: 9, Position: 201, RegisteredClaims: jwt.RegisteredClaims{IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(TicketTTL))}}
	tok, err := SignTicket(k, c)
	if err != nil {
		b.Fatal(err)
	}
	v := NewVerifier(k.TicketPub).WithMAC(k.MACKey)
	if _, ok := v.parseMAC(tok); !ok {
		b.Fatal("not on the MAC path")
	}
	b.ReportAllocs()
	cpu0 := nice.ProcessCPU()
	for b.Loop() {
		if _, ok := v.parseMAC(tok); !ok {
			b.Fatal("refused")
		}
	}
	cpuPerOp(b, cpu0)
}

// BenchmarkTicketMAC compares the pooled MAC with a new HMAC per call.
func BenchmarkTicketMAC(b *testing.B) {
	k := DeriveKeys([]byte("a secret of the cluster, for a test"))
	seg := "eyJkcm9wIjoibGFtcCIsInZpZCI6InlQbjZjRTdSckJEdTZNN3hCSllEN1EiLCJzZXEiOjksInBvcyI6MjAxLCJleHAiOjE3OTY2MTU3MzksImlhdCI6MTc5NjAxMDkzOX0"
	b.Run("pooled", func(b *testing.B) {
		b.ReportAllocs()
		var out [16]byte
		for b.Loop() {
			ticketMAC(&out, k.MACKey, seg)
		}
	})
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m := hmac.New(sha256.New, k.MACKey)
			m.Write([]byte(seg))
			_ = m.Sum(nil)[:16]
		}
	})
}

// The direct reading of a ticket's claims allocates nothing (its strings
// are the payload's bytes), and a verified ticket's claims keep copies of
// its ids in their own allocation.
func TestClaimsDecodeAllocations(t *testing.T) {
	now := time.Unix(1796010939, 0)
	c := &Claims{Drop: "lamp", Visitor: "yPn6cE7RrBDu6M7xBJYD7Q", Seq: 9, Position: 201, RegisteredClaims: jwt.RegisteredClaims{IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(TicketTTL))}}
	b, _ := appendClaims(nil, c)
	if allocs := testing.AllocsPerRun(100, func() {
		if f, err := decodeFlatClaims(b); err != nil || f.Drop != c.Drop || f.Visitor != c.Visitor {
			t.Fatal(f, err)
		}
	}); allocs != 0 {
		t.Fatalf("decodeFlatClaims allocates %v times", allocs)
	}
	long := strings.Repeat("v", 80)
	for _, ids := range [][2]string{{"lamp", "yPn6cE7RrBDu6M7xBJYD7Q"}, {"lamp", long}, {"d", strings.Repeat("v", 63)}} {
		f, _ := decodeFlatClaims([]byte(`{"drop":"` + ids[0] + `","vid":"` + ids[1] + `","seq":1,"exp":2}`))
		var m macClaims
		m.keep(f.Drop, f.Visitor)
		if m.Drop != ids[0] || m.Visitor != ids[1] {
			t.Fatalf("kept %q %q, want %q %q", m.Drop, m.Visitor, ids[0], ids[1])
		}
	}
}
