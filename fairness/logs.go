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
	read  Reader
	mu    sync.Mutex
	trees map[string]*logTree
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
