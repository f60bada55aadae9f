package fairness

import (
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/floodgate/floodgate/sale"
)

// Head is the payload of a signed tree head.
type Head struct {
	Drop     string `json:"drop"`
	TreeSize int64  `json:"tree_size"`
	RootHash string `json:"root_hash"`
	At       string `json:"at"`
	Final    bool   `json:"final"`
}

// SignHead signs a tree head.
func (s Signer) SignHead(h Head) string {
	b, _ := json.Marshal(h)
	return s.Sign(TypeHead, b)
}

// VerifyHead checks a signed tree head with the key set and returns it.
func VerifyHead(keys JWKS, token string) (Head, error) {
	p, err := Verify(keys, TypeHead, token)
	if err != nil {
		return Head{}, fmt.Errorf("tree head: %w", err)
	}
	var h Head
	if err := json.Unmarshal(p, &h); err != nil {
		return Head{}, fmt.Errorf("tree head: bad payload: %w", err)
	}
	if _, err := hex.DecodeString(h.RootHash); err != nil || len(h.RootHash) != 64 || h.TreeSize < 0 {
		return Head{}, fmt.Errorf("tree head: bad root hash %q or size %d", h.RootHash, h.TreeSize)
	}
	return h, nil
}

// Root returns the head's root hash as bytes.
func (h Head) Root() []byte {
	b, _ := hex.DecodeString(h.RootHash)
	return b
}

// SignReceipt signs the receipt of an order: its payload is the order's leaf
// (sale.State.ReceiptPayload).
func (s Signer) SignReceipt(payload []byte) string { return s.Sign(TypeReceipt, payload) }

// Receipt is a verified receipt: its claims and the leaf bytes they came from.
type Receipt struct {
	sale.Leaf
	Payload []byte
}

// VerifyReceipt checks a receipt with the key set alone (no call to any
// server) and returns what it says.
func VerifyReceipt(keys JWKS, token string) (Receipt, error) {
	p, err := Verify(keys, TypeReceipt, token)
	if err != nil {
		return Receipt{}, fmt.Errorf("receipt: %w", err)
	}
	var r Receipt
	if err := json.Unmarshal(p, &r.Leaf); err != nil {
		return Receipt{}, fmt.Errorf("receipt: bad payload: %w", err)
	}
	if r.Type != sale.LeafOrder || r.Drop == "" || r.Order == "" || r.CustomerHash == "" || r.Position < 1 || r.Early == nil || r.Seq == nil {
		return Receipt{}, fmt.Errorf("receipt: the payload is not an order receipt")
	}
	r.Payload = p
	return r, nil
}
