package queue

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"hash/maphash"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"

	"github.com/floodgate/floodgate"
)

// TicketTTL is how long a ticket stays valid after it was issued.
const TicketTTL = 7 * 24 * time.Hour

// ClockLeeway is how far the clock of whoever verifies a ticket may be
// behind the node that issued it.
const ClockLeeway = 2 * time.Minute

// Claims are what a ticket says.
type Claims struct {
	Drop    string `json:"drop"`
	Visitor string `json:"vid"`
	Early   bool   `json:"early,omitempty"`
	Seq     int64  `json:"seq"`
	// Position is the 1-based position when it was known at issue time (0
	// for early arrivals, who are placed at the start).
	Position int64 `json:"pos,omitempty"`
	jwt.RegisteredClaims
}

// SignTicket signs claims with the ticket key (with a nonce prepared ahead
// when the Service has one, internal/presign). The protected header also
// carries "fgm", an HMAC of the payload under a key only the cluster knows:
// the nodes check it in a microsecond instead of an Ed25519 verification,
// while anyone else verifies the Ed25519 signature with the JWKS.
func SignTicket(k *Keys, c *Claims) (string, error) {
	enc := base64.RawURLEncoding
	var pbuf [256]byte
	payload, err := appendClaims(pbuf[:0], c)
	if err != nil {
		return "", err
	}
	var mac [16]byte
	var pseg [344]byte
	p := enc.AppendEncode(pseg[:0], payload)
	ticketMAC(&mac, k.MACKey, p)
	// The protected header as encoding/json writes the map jwt builds
	// (keys sorted), without building it: every join signs one.
	// kid is hex and fgm base64url, so neither needs escaping.
	var hbuf [128]byte
	h := append(hbuf[:0], `{"alg":"EdDSA","fgm":"`...)
	h = enc.AppendEncode(h, mac[:])
	h = append(h, `","kid":"`...)
	h = append(h, k.KeyID...)
	h = append(h, `","typ":"JWT"}`...)
	buf := make([]byte, 0, enc.EncodedLen(len(h))+1+len(p)+1+enc.EncodedLen(ed25519.SignatureSize))
	buf = enc.AppendEncode(buf, h)
	buf = append(buf, '.')
	buf = append(buf, p...)
	var sig [ed25519.SignatureSize]byte
	k.signTicket(&sig, buf)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig[:])
	return string(buf), nil
}

var errBadTicket = floodgate.Errorf(floodgate.EUnauthenticated, "The ticket is missing, invalid or expired; join the queue again.")

// Verifier checks tickets and remembers the ones it has verified, because a
// waiting visitor asks for its position many times and an Ed25519
// verification costs far more than a map lookup.
type Verifier struct {
	pub    ed25519.PublicKey
	mac    []byte // the cluster's MAC key; nil on an edge, which has only the JWKS
	seed   maphash.Seed
	shards [64]verifierShard
}

type verifierShard struct {
	mu sync.RWMutex
	m  map[string]*Claims
}

// maxCachedPerShard bounds the memory of the cache: 64 shards of 1024
// tickets, about 40 MiB at most, whatever the size of the crowd. A miss costs
// a MAC check on a node (microseconds), so the cache need not hold everyone.
const maxCachedPerShard = 1024

// NewVerifier returns a Verifier for tickets signed by pub.
func NewVerifier(pub ed25519.PublicKey) *Verifier {
	v := &Verifier{
		pub:  pub,
		seed: maphash.MakeSeed(),
	}
	for i := range v.shards {
		v.shards[i].m = make(map[string]*Claims)
	}
	return v
}

// Verify checks token and returns its claims; drop, when not empty, must be
// the ticket's drop. The returned claims must not be modified.
func (v *Verifier) Verify(token, drop string, now time.Time) (*Claims, error) {
	if token == "" || len(token) > 2048 {
		return nil, errBadTicket
	}
	sh := &v.shards[maphash.String(v.seed, token)%uint64(len(v.shards))]
	sh.mu.RLock()
	c, ok := sh.m[token]
	sh.mu.RUnlock()
	if !ok {
		var err error
		c, err = v.parse(token, now)
		if err != nil {
			return nil, err
		}
		sh.mu.Lock()
		if len(sh.m) >= maxCachedPerShard {
			clear(sh.m)
		}
		sh.m[token] = c
		sh.mu.Unlock()
	}
	if c.ExpiresAt != nil && !now.Before(c.ExpiresAt.Time) {
		return nil, errBadTicket
	}
	if drop != "" && c.Drop != drop {
		return nil, floodgate.Errorf(floodgate.EForbidden, "This ticket is for another drop (%s); join this drop's queue.", c.Drop)
	}
	return c, nil
}

// WithMAC returns v checking the cluster's MAC first (see SignTicket).
func (v *Verifier) WithMAC(key []byte) *Verifier {
	v.mac = append([]byte(nil), key...)
	return v
}

func (v *Verifier) parse(token string, now time.Time) (*Claims, error) {
	if v.mac != nil {
		if c, ok := v.parseMAC(token); ok {
			return c, nil
		}
	}
	c := &Claims{}
	// The times in the ticket are judged by the caller's clock.
	// An edge's clock may be behind the leader that issued the ticket: a
	// fresh ticket must not be refused (the page would throw the buyer's
	// place away), so issue times up to ClockLeeway ahead are accepted.
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithLeeway(ClockLeeway), jwt.WithTimeFunc(func() time.Time { return now }))
	_, err := parser.ParseWithClaims(token, c, func(t *jwt.Token) (any, error) { return v.pub, nil })
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, floodgate.Errorf(floodgate.EUnauthenticated, "The ticket has expired; join the queue again.")
		}
		return nil, errBadTicket
	}
	if c.Drop == "" || c.Visitor == "" || c.Seq < 0 {
		return nil, errBadTicket
	}
	return c, nil
}

// parseMAC accepts a ticket whose header MAC matches its payload and whose
// signature has the shape of an Ed25519 signature. The MAC proves the header
// and payload came from the cluster; the signature is left to those without
// the MAC key. Anything else (no MAC, a wrong one, a malformed token) falls
// back to the full Ed25519 verification, which decides.
func (v *Verifier) parseMAC(token string) (*Claims, bool) {
	h, rest, ok := strings.Cut(token, ".")
	if !ok {
		return nil, false
	}
	p, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return nil, false
	}
	var sigBuf [ed25519.SignatureSize + 3]byte
	if sb, ok := decodeSegment(sigBuf[:], sig); !ok || len(sb) != ed25519.SignatureSize {
		return nil, false
	}
	// The header is not covered by the MAC, so only its "fgm" value is read
	// from it (no JSON decoding): a forged header gains nothing without a
	// MAC of the payload under the cluster's key.
	var hBuf [192]byte
	hb, ok := decodeSegment(hBuf[:], h)
	if !ok {
		return nil, false
	}
	_, after, found := bytes.Cut(hb, []byte(`"fgm":"`))
	if !found {
		return nil, false
	}
	macB64, _, found := bytes.Cut(after, []byte(`"`))
	if !found {
		return nil, false
	}
	var got [32]byte
	// An over-long value would overrun the buffer: it is no MAC of ours.
	if base64.RawURLEncoding.DecodedLen(len(macB64)) > len(got) {
		return nil, false
	}
	n, err := base64.RawURLEncoding.Decode(got[:], macB64)
	if err != nil {
		return nil, false
	}
	var want [16]byte
	ticketMAC(&want, v.mac, p)
	if !hmac.Equal(got[:n], want[:]) {
		return nil, false
	}
	var pBuf [256]byte
	pb, ok := decodeSegment(pBuf[:], p)
	if !ok {
		return nil, false
	}
	f, err := decodeFlatClaims(pb)
	if err != nil || f.Drop == "" || f.Visitor == "" || f.Seq < 0 || f.Exp == 0 {
		return nil, false
	}
	// The claims, their dates and their ids in one allocation.
	cd := &macClaims{Claims: Claims{Early: f.Early, Seq: f.Seq, Position: f.Pos}}
	cd.keep(f.Drop, f.Visitor)
	cd.exp = jwt.NumericDate{Time: time.Unix(0, int64(f.Exp*1e9))}
	cd.ExpiresAt = &cd.exp
	if f.Iat != 0 {
		cd.iat = jwt.NumericDate{Time: time.Unix(0, int64(f.Iat*1e9))}
		cd.IssuedAt = &cd.iat
	}
	return &cd.Claims, true
}

// macClaims are the claims of a ticket parseMAC accepted, with room for
// what they point to.
type macClaims struct {
	Claims
	exp, iat jwt.NumericDate
	text     [64]byte
}

// keep sets the claims' drop and visitor ids to copies of drop and
// visitor, held in c.text when both fit (the strings share c's allocation;
// the bytes are never written again), else apart.
func (c *macClaims) keep(drop, visitor string) {
	if len(drop) == 0 || len(visitor) == 0 || len(drop)+len(visitor) > len(c.text) {
		c.Drop, c.Visitor = strings.Clone(drop), strings.Clone(visitor)
		return
	}
	n := copy(c.text[:], drop)
	copy(c.text[n:], visitor)
	c.Drop = unsafe.String(&c.text[0], n)
	c.Visitor = unsafe.String(&c.text[n], len(visitor))
}

// decodeSegment decodes a base64url segment of a token into buf when it
// fits, as base64.RawURLEncoding.DecodeString does.
func decodeSegment(buf []byte, s string) ([]byte, bool) {
	if base64.RawURLEncoding.DecodedLen(len(s)) > len(buf) {
		b, err := base64.RawURLEncoding.DecodeString(s)
		return b, err == nil
	}
	n, err := base64.RawURLEncoding.Decode(buf, []byte(s))
	return buf[:n], err == nil
}
