package queue

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"sync"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/pow"
)

// The join challenge is a proof of work: the client finds a nonce such that
// SHA-256(prefix ‖ nonce) begins with Difficulty zero bits. It costs the
// server one HMAC to issue and one HMAC and one SHA-256 to check, and keeps
// nothing per challenge until it is solved.
//
// A challenge id is, base64url without padding:
//
//	version (1) ‖ leadership tag (8) ‖ expiry, unix seconds (8) ‖ difficulty (1) ‖ random (8) ‖ MAC (16)
//
// The MAC (HMAC-SHA256 under a key derived from the cluster secret, over the
// fields and the drop id) makes the id unforgeable and binds it to the drop;
// the prefix is derived from the MAC, so nobody can start solving before the
// challenge is issued.
//
// Single use: only the leader hands out tickets (followers and edges forward
// joins to it), so the leader alone remembers the challenges it accepted, in
// memory, until they expire. The leadership tag is random for each term this
// node leads; a challenge is accepted only by the node and term that issued
// it. A new leader therefore cannot be fooled by a challenge used with the
// old one: it asks for a fresh one instead. So a challenge gives at most one
// ticket in the whole cluster.
const (
	ChallengeAlgorithm = "sha256"
	// ChallengeTTL is how long a challenge may be solved; a slow phone at
	// the highest automatic difficulty for a shared address needs far less.
	ChallengeTTL = 2 * time.Minute
	// MaxNonceLength bounds the nonce of a solution.
	MaxNonceLength = 64

	challengeVersion = 1
	challengeBodyLen = 1 + 8 + 8 + 1 + 8
	challengeMACLen  = 16
	challengeIDLen   = challengeBodyLen + challengeMACLen
	// challengePrefixLen keeps prefix and a short nonce inside one SHA-256
	// block, which the browser's solver relies on for speed.
	challengePrefixLen = 16
)

// Challenge is what a client must solve before it gets a ticket.
type Challenge = pow.Challenge

// Solution is a client's answer to a challenge.
type Solution struct {
	ID    string `json:"id"`
	Nonce string `json:"nonce"`
}

var (
	errChallengeInvalid = floodgate.Errorf(floodgate.EInvalid, "The challenge solution is wrong or the challenge is not one this drop issued: ask for a new challenge (POST the queue without one) and solve it.")
	errChallengeExpired = floodgate.Errorf(floodgate.EInvalid, "The challenge has expired: ask for a new one (POST the queue without a solution) and solve it.")
	errChallengeNonce   = floodgate.Errorf(floodgate.EInvalid, "\"challenge.nonce\" must be 1 to 64 ASCII characters.")
	errChallengeUsed    = floodgate.Errorf(floodgate.EConflict, "This challenge was used already and gives no second ticket; keep the ticket it gave, or ask for a new challenge.")
)

// challengeCodec issues and checks challenges under one key.
type challengeCodec struct {
	key []byte
}

func (c challengeCodec) mac(body []byte, drop string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("floodgate challenge v1\x00"))
	m.Write(body)
	m.Write([]byte(drop))
	return m.Sum(nil)[:challengeMACLen]
}

// prefix derives the bytes the client hashes from a challenge's MAC.
func (c challengeCodec) prefix(mac []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("floodgate challenge prefix v1\x00"))
	m.Write(mac)
	return m.Sum(nil)[:challengePrefixLen]
}

// issue returns a new challenge for drop.
func (c challengeCodec) issue(drop string, tag [8]byte, difficulty int, now time.Time) Challenge {
	var r [8]byte
	_, _ = rand.Read(r[:])
	return c.issueWith(drop, tag, difficulty, now, r)
}

func (c challengeCodec) issueWith(drop string, tag [8]byte, difficulty int, now time.Time, random [8]byte) Challenge {
	var id [challengeIDLen]byte
	exp := now.Add(ChallengeTTL).Truncate(time.Second)
	id[0] = challengeVersion
	copy(id[1:9], tag[:])
	binary.BigEndian.PutUint64(id[9:17], uint64(exp.Unix()))
	id[17] = byte(difficulty)
	copy(id[18:challengeBodyLen], random[:])
	mac := c.mac(id[:challengeBodyLen], drop)
	copy(id[challengeBodyLen:], mac)
	return Challenge{
		ID:         base64.RawURLEncoding.EncodeToString(id[:]),
		Algorithm:  ChallengeAlgorithm,
		Prefix:     base64.RawURLEncoding.EncodeToString(c.prefix(mac)),
		Difficulty: difficulty,
		ExpiresAt:  exp.UTC(),
	}
}

// checked is a solution that passed every check but the single use.
type checked struct {
	key [challengeMACLen]byte // the challenge's MAC: its identity
	tag [8]byte
	exp time.Time
}

// check verifies a solution for drop at now: the id is one this cluster
// issued for drop, it has not expired, and the nonce solves it. It does not
// look at the leadership tag or at earlier use; the caller does.
func (c challengeCodec) check(drop string, sol Solution, now time.Time) (checked, error) {
	var out checked
	if len(sol.Nonce) == 0 || len(sol.Nonce) > MaxNonceLength {
		return out, errChallengeNonce
	}
	for i := 0; i < len(sol.Nonce); i++ {
		if sol.Nonce[i] >= 0x80 {
			return out, errChallengeNonce
		}
	}
	// The decoder skips newlines; an id has none, so one id has one spelling.
	if len(sol.ID) != base64.RawURLEncoding.EncodedLen(challengeIDLen) || strings.ContainsAny(sol.ID, "\r\n") {
		return out, errChallengeInvalid
	}
	var id [challengeIDLen]byte
	n, err := base64.RawURLEncoding.Decode(id[:], []byte(sol.ID))
	if err != nil || n != challengeIDLen || id[0] != challengeVersion {
		return out, errChallengeInvalid
	}
	mac := c.mac(id[:challengeBodyLen], drop)
	if !hmac.Equal(mac, id[challengeBodyLen:]) {
		return out, errChallengeInvalid
	}
	difficulty := int(id[17])
	exp := int64(binary.BigEndian.Uint64(id[9:17]))
	if difficulty < 1 || difficulty > MaxDifficulty || exp < 0 {
		return out, errChallengeInvalid
	}
	if now.Unix() >= exp {
		return out, errChallengeExpired
	}
	if !pow.Solves(c.prefix(mac), sol.Nonce, difficulty) {
		return out, errChallengeInvalid
	}
	copy(out.key[:], mac)
	copy(out.tag[:], id[1:9])
	out.exp = time.Unix(exp, 0)
	return out, nil
}

// MaxDifficulty is the hardest challenge: about 270 million hashes.
const MaxDifficulty = 28

// usedSet remembers the challenges that gave a ticket until they expire, in
// two generations that rotate every ChallengeTTL: an entry lives at least one
// full TTL, and at most two, and memory is bounded by the tickets handed out
// against a challenge within two TTLs.
type usedSet struct {
	mu      sync.Mutex
	cur     map[[challengeMACLen]byte]struct{}
	prev    map[[challengeMACLen]byte]struct{}
	rotated time.Time
}

// add records key and reports whether it was new.
func (u *usedSet) add(key [challengeMACLen]byte, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.cur == nil || now.Sub(u.rotated) >= ChallengeTTL {
		u.prev, u.cur, u.rotated = u.cur, map[[challengeMACLen]byte]struct{}{}, now
	}
	if _, ok := u.cur[key]; ok {
		return false
	}
	if _, ok := u.prev[key]; ok {
		return false
	}
	u.cur[key] = struct{}{}
	return true
}

// remove forgets key: the join it was for failed, so the solution may be
// sent again.
func (u *usedSet) remove(key [challengeMACLen]byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.cur, key)
	delete(u.prev, key)
}

// reset forgets everything (a new leadership term: no old challenge is
// accepted any more).
func (u *usedSet) reset() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.cur, u.prev = nil, nil
}
