package fairness

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// hasher is RFC 6962's SHA-256 Merkle tree hasher.
var hasher = rfc6962.DefaultHasher

// LeafHash is the RFC 6962 hash of a leaf: SHA-256(0x00 ‖ data).
func LeafHash(data []byte) []byte { return hasher.HashLeaf(data) }

// Tree is an append-only Merkle tree that keeps every complete subtree's hash,
// so a root, an inclusion proof or a consistency proof for any size costs
// O(log n). Safe for concurrent use.
type Tree struct {
	mu sync.RWMutex
	// levels[k][i] is the hash of the complete subtree of 2^k leaves that
	// starts at leaf i·2^k.
	levels [][][]byte
}

// Size returns the number of leaves.
func (t *Tree) Size() int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.size()
}

func (t *Tree) size() int64 {
	if len(t.levels) == 0 {
		return 0
	}
	return int64(len(t.levels[0]))
}

// Append adds the leaf with the given data.
func (t *Tree) Append(data []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := LeafHash(data)
	for k := 0; ; k++ {
		if k == len(t.levels) {
			t.levels = append(t.levels, nil)
		}
		t.levels[k] = append(t.levels[k], h)
		n := len(t.levels[k])
		if n%2 == 1 {
			return
		}
		h = hasher.HashChildren(t.levels[k][n-2], t.levels[k][n-1])
	}
}

func (t *Tree) node(id compact.NodeID) ([]byte, error) {
	if int(id.Level) >= len(t.levels) || id.Index >= uint64(len(t.levels[id.Level])) {
		return nil, fmt.Errorf("fairness: tree node %d/%d is not there", id.Level, id.Index)
	}
	return t.levels[id.Level][id.Index], nil
}

func (t *Tree) nodes(ids []compact.NodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		h, err := t.node(id)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

// ErrSize is returned for a tree size beyond the tree.
var ErrSize = errors.New("fairness: the tree is smaller than the size asked for")

// Root returns the root hash of the first size leaves.
func (t *Tree) Root(size int64) ([]byte, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if size < 0 || size > t.size() {
		return nil, ErrSize
	}
	if size == 0 {
		return hasher.EmptyRoot(), nil
	}
	hashes, err := t.nodes(compact.RangeNodes(0, uint64(size), nil))
	if err != nil {
		return nil, err
	}
	fact := compact.RangeFactory{Hash: hasher.HashChildren}
	r, err := fact.NewRange(0, uint64(size), hashes)
	if err != nil {
		return nil, err
	}
	return r.GetRootHash(nil)
}

// Inclusion returns the inclusion proof of leaf index in the tree of size.
func (t *Tree) Inclusion(index, size int64) ([][]byte, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if size < 1 || size > t.size() {
		return nil, ErrSize
	}
	if index < 0 || index >= size {
		return nil, fmt.Errorf("fairness: leaf %d is not in a tree of %d leaves", index, size)
	}
	n, err := proof.Inclusion(uint64(index), uint64(size))
	if err != nil {
		return nil, err
	}
	return t.rehash(n)
}

// Consistency returns the consistency proof from size1 to size2.
func (t *Tree) Consistency(size1, size2 int64) ([][]byte, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if size2 > t.size() {
		return nil, ErrSize
	}
	if size1 < 0 || size1 > size2 {
		return nil, fmt.Errorf("fairness: a consistency proof needs 0 <= from (%d) <= to (%d)", size1, size2)
	}
	n, err := proof.Consistency(uint64(size1), uint64(size2))
	if err != nil {
		return nil, err
	}
	return t.rehash(n)
}

func (t *Tree) rehash(n proof.Nodes) ([][]byte, error) {
	hashes, err := t.nodes(n.IDs)
	if err != nil {
		return nil, err
	}
	// Rehash may modify the slice; it holds copies of the pointers only,
	// and HashChildren returns new slices.
	return n.Rehash(hashes, hasher.HashChildren)
}

// VerifyInclusion checks that the leaf with leafHash is at index in the tree
// of size with the given root.
func VerifyInclusion(index, size int64, leafHash []byte, p [][]byte, root []byte) error {
	if index < 0 || size < 1 {
		return fmt.Errorf("fairness: bad inclusion proof position %d of %d", index, size)
	}
	return proof.VerifyInclusion(hasher, uint64(index), uint64(size), leafHash, p, root)
}

// VerifyConsistency checks that the tree of size2 with root2 extends the tree
// of size1 with root1.
func VerifyConsistency(size1, size2 int64, p [][]byte, root1, root2 []byte) error {
	if size1 < 0 || size2 < size1 {
		return fmt.Errorf("fairness: bad consistency sizes %d, %d", size1, size2)
	}
	return proof.VerifyConsistency(hasher, uint64(size1), uint64(size2), p, root1, root2)
}

// HexHashes encodes hashes as lowercase hex.
func HexHashes(hs [][]byte) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = hex.EncodeToString(h)
	}
	return out
}

// ParseHashes decodes hex hashes of SHA-256 size.
func ParseHashes(hs []string) ([][]byte, error) {
	out := make([][]byte, len(hs))
	for i, s := range hs {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("fairness: %q is not a hex SHA-256 hash", s)
		}
		out[i] = b
	}
	return out, nil
}
