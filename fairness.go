package floodgate

import "time"

// DropFairness is what a drop shows about fairness you can check: the
// commitment to its shuffle seed, and the settings of a draw or a presale.
type DropFairness struct {
	// ShuffleCommitment is hex SHA-256 of the secret seed that orders the
	// early arrivals (or draws the winners); the seed is revealed at the
	// opening by GET /api/v1/drops/{drop}/fairness.
	ShuffleCommitment string     `json:"shuffle_commitment,omitempty"`
	Mode              string     `json:"mode"`
	EntryEndsAt       *time.Time `json:"entry_ends_at,omitempty"`
	ClaimSeconds      int64      `json:"claim_seconds,omitempty"`
	Entries           int64      `json:"entries,omitempty"`
	Drawn             bool       `json:"drawn,omitempty"`
	PresaleUntil      *time.Time `json:"presale_until,omitempty"`
	Presale           bool       `json:"presale,omitempty"` // the presale is on now
	LogSize           int64      `json:"log_size"`
}
