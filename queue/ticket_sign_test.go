package queue

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/floodgate/floodgate/internal/nice"
	"github.com/floodgate/floodgate/internal/presign"
)

// signTicketJWT is SignTicket as it was written with jwt's token builder;
// Ed25519 is deterministic, so the two must give the same bytes.
func signTicketJWT(k *Keys, c *Claims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	p := base64.RawURLEncoding.EncodeToString(payload)
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = k.KeyID
	var mac [16]byte
	ticketMAC(&mac, k.MACKey, p)
	t.Header["fgm"] = base64.RawURLEncoding.EncodeToString(mac[:])
	h, err := json.Marshal(t.Header)
	if err != nil {
		return "", err
	}
	signing := base64.RawURLEncoding.EncodeToString(h) + "." + p
	sig, err := t.Method.Sign(signing, k.TicketKey)
	if err != nil {
		return "", err
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func TestSignTicketSameAsJWT(t *testing.T) {
	k := DeriveKeys([]byte("a secret of the cluster, for a test"))
	now := time.Unix(1796010939, 0)
	for _, c := range []*Claims{
		{Drop: "d1", Visitor: "v1", Seq: 3, RegisteredClaims: jwt.RegisteredClaims{IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(TicketTTL))}},
		{Drop: "lamp-2026", Visitor: "yPn6cE7RrBDu6M7xBJYD7Q", Early: true, Position: 42},
	} {
		got, err := SignTicket(k, c)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := signTicketJWT(k, c)
		if got != want {
			t.Fatalf("SignTicket\n got %s\nwant %s", got, want)
		}
		if c.ExpiresAt != nil {
			for name, v := range map[string]*Verifier{"Ed25519": NewVerifier(k.TicketPub), "MAC": NewVerifier(k.TicketPub).WithMAC(k.MACKey)} {
				if _, err := v.Verify(got, c.Drop, now); err != nil {
					t.Fatalf("the ticket does not verify (%s): %v", name, err)
				}
			}
		}
	}
}

// cpuPerOp reports the process's CPU time per op since cpu0 (cpu-ns/op),
// which a loaded machine does not inflate as it does ns/op.
func cpuPerOp(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64((nice.ProcessCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkSignTicket reports, besides the time, the process's CPU per
// signature (cpu-ns/op), which a loaded machine does not inflate.
func BenchmarkSignTicket(b *testing.B) {
	k := DeriveKeys([]byte("a secret of the cluster, for a test"))
	c := &Claims{Drop: "lamp", Visitor: "yPn6cE7RrBDu6M7xBJYD7Q", Seq: 9, Position: 201}
	for _, sign := range []struct {
		name string
		sign func(*Keys, *Claims) (string, error)
	}{{"now", SignTicket}, {"jwt", signTicketJWT}} {
		b.Run(sign.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := nice.ProcessCPU()
			for b.Loop() {
				sign.sign(k, c)
			}
			cpuPerOp(b, cpu0)
		})
	}
	// From a pool filled beforehand, as a join of a rush's opening finds it.
	b.Run("presigned", func(b *testing.B) {
		k := DeriveKeys([]byte("a secret of the cluster, for a test"))
		k.ahead = presign.New(k.TicketKey, b.N)
		k.ahead.Prepare(b.N)
		b.ReportAllocs()
		b.ResetTimer()
		cpu0 := nice.ProcessCPU()
		for range b.N {
			SignTicket(k, c)
		}
		cpuPerOp(b, cpu0)
		b.StopTimer()
		if k.tickets.Inline.Load() != 0 {
			b.Fatal("signed in full")
		}
	})
	// What the pool spends on idle CPU per nonce.
	b.Run("prepare", func(b *testing.B) {
		p := presign.New(k.TicketKey, b.N)
		b.ResetTimer()
		cpu0 := nice.ProcessCPU()
		p.Prepare(b.N)
		cpuPerOp(b, cpu0)
	})
}
