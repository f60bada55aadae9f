package queue

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"

	"github.com/floodgate/floodgate/internal/jwk"
	"github.com/floodgate/floodgate/internal/presign"
)

// Keys are the signing keys derived from the cluster secret, which lives in
// the replicated state so that every node signs and verifies alike.
type Keys struct {
	TicketKey  ed25519.PrivateKey
	TicketPub  ed25519.PublicKey
	KeyID      string
	SessionKey []byte
	MACKey     []byte // authenticates tickets between the nodes (see SignTicket)
	// ChallengeKey signs join challenges (challenge.go).
	ChallengeKey []byte

	ahead   *presign.Pool  // nonces prepared for TicketKey; nil: none
	tickets presign.Counts // how tickets were signed (presign.go's metrics)
}

// Presigned is the pool of nonces prepared for TicketKey (nil: none), which
// receipts sign from too.
func (k *Keys) Presigned() *presign.Pool { return k.ahead }

// signTicket signs msg with TicketKey, from a prepared nonce when there is
// one (internal/presign).
func (k *Keys) signTicket(sig *[ed25519.SignatureSize]byte, msg []byte) {
	if k.ahead.Sign(k.TicketKey, &k.tickets, sig, msg) {
		return
	}
	copy(sig[:], ed25519.Sign(k.TicketKey, msg))
}

// DeriveKeys derives the ticket and session keys from the cluster secret.
func DeriveKeys(secret []byte) *Keys {
	seed := sha256.Sum256(append([]byte("floodgate ticket key v1\x00"), secret...))
	priv := ed25519.NewKeyFromSeed(seed[:])
	pub := priv.Public().(ed25519.PublicKey)
	kid := sha256.Sum256(pub)
	sess := sha256.Sum256(append([]byte("floodgate session key v1\x00"), secret...))
	mac := sha256.Sum256(append([]byte("floodgate ticket mac v1\x00"), secret...))
	ch := sha256.Sum256(append([]byte("floodgate challenge key v1\x00"), secret...))
	return &Keys{TicketKey: priv, TicketPub: pub, KeyID: hex.EncodeToString(kid[:8]), SessionKey: sess[:], MACKey: mac[:], ChallengeKey: ch[:]}
}

// JWK is one JSON Web Key; JWKS is the document served at
// /.well-known/jwks.json (package jwk, which edges and the fairness auditor
// read it with).
type (
	JWK  = jwk.Key
	JWKS = jwk.Set
)

// JWKS returns the public key set that verifies tickets.
func (k *Keys) JWKS() JWKS {
	return JWKS{Keys: []JWK{jwk.Ed25519(k.TicketPub, k.KeyID)}}
}
