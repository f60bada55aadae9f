// Package hmacpool computes HMAC-SHA256 under one key over and over without
// allocating: hmac.New allocates two hashes and hashes the padded key on
// every call, so the HMACs of a key are kept for reuse. The MAC of tickets
// between the nodes (queue) and buyer sessions (identity) are checked on
// every request that carries one.
package hmacpool

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"sync"
)

// Key is an HMAC-SHA256 key with its reusable HMACs; make one with New.
type Key struct {
	key  string
	pool sync.Pool // of *state
}

// state is an HMAC with room for its input and sum, which would escape to
// the heap on every call if they lived on the caller's stack.
type state struct {
	h   hash.Hash
	in  []byte
	sum []byte
}

// New returns key (copied) with an empty pool.
func New(key []byte) *Key { return &Key{key: string(key)} }

// Is reports whether k was made from key.
func (k *Key) Is(key []byte) bool { return k.key == string(key) }

// Append appends the HMAC-SHA256 of msg under k to dst.
func Append[S ~string | ~[]byte](k *Key, dst []byte, msg S) []byte {
	m, _ := k.pool.Get().(*state)
	if m == nil {
		m = &state{h: hmac.New(sha256.New, []byte(k.key)), sum: make([]byte, 0, sha256.Size)}
	}
	m.in = append(m.in[:0], msg...)
	m.h.Write(m.in)
	m.sum = m.h.Sum(m.sum[:0])
	m.h.Reset()
	dst = append(dst, m.sum...)
	if cap(m.in) <= 4096 { // a huge message's buffer is not kept
		k.pool.Put(m)
	}
	return dst
}
