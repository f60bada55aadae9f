package status

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The store is one bbolt file: every write is a transaction that is fsynced
// before the API answers, and the outbox survives a restart key by key, so a
// delivery queued before a crash is sent after it.
var (
	bucketComponents   = []byte("components")
	bucketIncidents    = []byte("incidents")
	bucketMaintenances = []byte("maintenances")
	bucketSubscribers  = []byte("subscribers")
	bucketOutbox       = []byte("outbox")
	bucketLog          = []byte("delivery_log")
	bucketSignals      = []byte("signals")
	bucketLocal        = []byte("local")
	allBuckets         = [][]byte{bucketComponents, bucketIncidents, bucketMaintenances, bucketSubscribers, bucketOutbox, bucketLog, bucketSignals, bucketLocal}
)

// maxLogEntries bounds the delivery log; older entries are dropped.
const maxLogEntries = 10000

type store struct {
	db *bolt.DB
}

func openStore(dataDir string) (*store, error) {
	if dataDir == "" {
		return nil, fmt.Errorf("status: no data directory; pass --data-dir")
	}
	dir := filepath.Join(dataDir, "status")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("status: create %s: %w (check the permissions of the data directory)", dir, err)
	}
	path := filepath.Join(dir, "status.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("status: open %s: %w (is another floodgate process using this data directory?)", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("status: prepare %s: %w", path, err)
	}
	return &store{db: db}, nil
}

func (st *store) close() error { return st.db.Close() }

// batch is a set of writes applied in one durable transaction.
type batch struct {
	puts []kv
	dels []kv
	logs []LogEntry
}

type kv struct {
	bucket []byte
	key    string
	value  any
}

func (b *batch) put(bucket []byte, key string, v any) {
	b.puts = append(b.puts, kv{bucket, key, v})
}

func (b *batch) del(bucket []byte, key string) {
	b.dels = append(b.dels, kv{bucket: bucket, key: key})
}

func (b *batch) empty() bool { return len(b.puts) == 0 && len(b.dels) == 0 && len(b.logs) == 0 }

func (st *store) commit(b *batch) error {
	if b.empty() {
		return nil
	}
	return st.db.Update(func(tx *bolt.Tx) error {
		for _, p := range b.puts {
			buf, err := json.Marshal(p.value)
			if err != nil {
				return err
			}
			if err := tx.Bucket(p.bucket).Put([]byte(p.key), buf); err != nil {
				return err
			}
		}
		for _, d := range b.dels {
			if err := tx.Bucket(d.bucket).Delete([]byte(d.key)); err != nil {
				return err
			}
		}
		if len(b.logs) > 0 {
			lb := tx.Bucket(bucketLog)
			for _, e := range b.logs {
				seq, _ := lb.NextSequence()
				buf, err := json.Marshal(e)
				if err != nil {
					return err
				}
				if err := lb.Put(seqKey(seq), buf); err != nil {
					return err
				}
				if seq > maxLogEntries {
					_ = lb.Delete(seqKey(seq - maxLogEntries))
				}
			}
		}
		return nil
	})
}

func seqKey(n uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], n)
	return k[:]
}

// load calls fn with every value of bucket.
func load[T any](st *store, bucket []byte, fn func(*T)) error {
	return st.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			t := new(T)
			if err := json.Unmarshal(v, t); err != nil {
				return fmt.Errorf("status: corrupt record %s/%s: %w", bucket, k, err)
			}
			fn(t)
			return nil
		})
	})
}

// recentLog returns up to limit delivery log entries, newest first.
func (st *store) recentLog(limit int) ([]LogEntry, error) {
	var out []LogEntry
	err := st.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLog).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var e LogEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// each calls fn with every key and raw value of bucket.
func (st *store) each(bucket []byte, fn func(key string, value []byte)) error {
	return st.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			fn(string(k), v)
			return nil
		})
	})
}

var keyMigrated = []byte("migrated_to_cluster")

// migrated reports whether this store's records were moved into the
// cluster's log already.
func (st *store) migrated() (bool, error) {
	var done bool
	err := st.db.View(func(tx *bolt.Tx) error {
		done = tx.Bucket(bucketLocal).Get(keyMigrated) != nil
		return nil
	})
	return done, err
}

func (st *store) markMigrated() error {
	return st.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLocal).Put(keyMigrated, []byte(time.Now().UTC().Format(time.RFC3339)))
	})
}
