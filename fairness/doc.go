// Package fairness makes a sale checkable by anyone: it signs receipts and
// tree heads (compact JWS, EdDSA, verifiable with the JWKS alone), keeps the
// Merkle tree of each drop's transparency log (RFC 6962 hashing, through
// github.com/transparency-dev/merkle), and holds the auditor's side that
// `floodgate verify` runs against a server.
//
// The leaves come from the replicated state (sale.State.LogLeaf); the tree is
// built outside the state machine, lazily and incrementally, when someone
// asks for a head or a proof, so the hot path of a rush pays nothing for it.
// docs/fairness-spec.md is the normative description of the formats.
package fairness
