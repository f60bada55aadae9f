package fairness

import (
	"sync"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/sale"
)

// Reader reads the replicated state under the store's read lock.
type Reader func(fn func(st *sale.State))

// Logs keeps the Merkle tree of every drop's log, extended from the
// replicated state when asked (Sync): the state holds the records, the trees
// live here and are rebuilt from the state after a restart.
type Logs struct {
	read      Reader
	mu        sync.Mutex
	trees     map[string]*logTree
	published map[string]*published
}

type logTree struct {
	sync sync.Mutex // one extension at a time
	tree Tree
}

// syncChunk bounds the leaves read under one read lock, so that a node
// building a large tree for the first time never stalls the state machine.
const syncChunk = 4096

// NewLogs returns the trees of the state read by read.
func NewLogs(read Reader) *Logs { return &Logs{read: read, trees: map[string]*logTree{}} }

// Sync brings the tree of drop up to the replicated log and returns it.
func (l *Logs) Sync(drop string) (*Tree, error) {
	var exists bool
	l.read(func(st *sale.State) { _, exists = st.Drops[drop] })
	if !exists {
		return nil, floodgate.Errorf(floodgate.ENotFound, "There is no drop %q.", drop)
	}
	l.mu.Lock()
	lt := l.trees[drop]
	if lt == nil {
		lt = &logTree{}
		l.trees[drop] = lt
	}
	l.mu.Unlock()
	lt.sync.Lock()
	defer lt.sync.Unlock()
	for {
		have := lt.tree.Size()
		var (
			leaves [][]byte
			total  int64
		)
		l.read(func(st *sale.State) {
			total = st.LogSize(drop)
			for i := have; i < total && i < have+syncChunk; i++ {
				b, ok := st.LogLeaf(drop, i)
				if !ok {
					break
				}
				leaves = append(leaves, b)
			}
		})
		for _, b := range leaves {
			lt.tree.Append(b)
		}
		if len(leaves) == 0 || have+int64(len(leaves)) >= total {
			return &lt.tree, nil
		}
	}
}

// SignedHead is a tree head and its compact JWS, as the API shows it.
type SignedHead struct {
	Head
	Signed string `json:"signed"`
}

// published caches the signed published heads of a drop: they only ever
// grow, so each is signed once per key however often the list is asked for.
type published struct {
	kid   string
	heads []SignedHead
}

// PublishedHeads returns the signed heads of drop for marks (the drop's
// published heads, oldest first), signing with sign only those not signed
// before with the same key id.
func (l *Logs) PublishedHeads(drop, kid string, marks []sale.HeadMark, sign func(sale.HeadMark) (SignedHead, error)) ([]SignedHead, error) {
	l.mu.Lock()
	p := l.published[drop]
	var have []SignedHead
	if p != nil && p.kid == kid {
		have = p.heads
	}
	l.mu.Unlock()
	n := 0
	for n < len(have) && n < len(marks) && have[n].TreeSize == marks[n].Size && have[n].Final == marks[n].Final {
		n++
	}
	out := append([]SignedHead(nil), have[:n]...)
	for _, m := range marks[n:] {
		h, err := sign(m)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	l.mu.Lock()
	if l.published == nil {
		l.published = map[string]*published{}
	}
	l.published[drop] = &published{kid: kid, heads: out}
	l.mu.Unlock()
	return out, nil
}
