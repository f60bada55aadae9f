package sale

import (
	"encoding/binary"
	"strings"

	"github.com/floodgate/floodgate"
)

// The status page (incidents, updates, maintenance, components, subscribers
// and the notification outbox) is replicated through the same log as the
// sale. The state machine does not interpret it: a status command carries
// records that the status package has already validated and encoded, and
// Apply stores them by key. Status writes are rare (a few per incident), so
// they cost the sale path nothing but their own log entries.

// KindStatus puts and deletes status records. The numbers 50-59 belong to
// the status page.
const KindStatus Kind = 50

// Limits of one status command, so that a bad or hostile proposal cannot
// blow up the state or a snapshot.
const (
	MaxStatusOps       = 10_000
	MaxStatusKey       = 300
	MaxStatusValue     = 256 << 10
	MaxStatusOpsBytes  = 8 << 20
	statusKeySeparator = "/"
)

// StatusOp puts Value under Key, or deletes Key when Del is set. A key is
// "<bucket>/<id>", e.g. "incidents/inc_3f9a…".
type StatusOp struct {
	Key   string
	Value []byte
	Del   bool
}

// StatusRecord is one replicated status record: its value and the sequence
// number of the status command that last wrote it, so that a reader can
// pick up what changed since it last looked.
type StatusRecord struct {
	Seq   uint64 `json:"seq"`
	Value []byte `json:"value"`
}

func appendStatusOps(buf []byte, ops []StatusOp) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(ops)))
	for _, op := range ops {
		buf = appendBool(buf, op.Del)
		buf = appendString(buf, op.Key)
		if !op.Del {
			buf = appendString(buf, string(op.Value))
		}
	}
	return buf
}

func (d *decoder) statusOps() []StatusOp {
	n := d.count()
	if n == 0 {
		return nil
	}
	ops := make([]StatusOp, 0, min(n, 1024))
	for i := 0; i < n && d.err == nil; i++ {
		var op StatusOp
		op.Del = d.bool()
		op.Key = d.string()
		if !op.Del {
			op.Value = []byte(d.raw())
		}
		ops = append(ops, op)
	}
	return ops
}

// validStatusKey reports whether key is "<bucket>/<id>" with a bucket of
// lower-case letters and underscores and a non-empty id.
func validStatusKey(key string) bool {
	if key == "" || len(key) > MaxStatusKey {
		return false
	}
	bucket, id, ok := strings.Cut(key, statusKeySeparator)
	if !ok || bucket == "" || id == "" {
		return false
	}
	for i := 0; i < len(bucket); i++ {
		if c := bucket[i]; !(c >= 'a' && c <= 'z' || c == '_') {
			return false
		}
	}
	return true
}

// applyStatus applies a status command: all of its operations, or none.
func (s *State) applyStatus(c *Command) Result {
	if len(c.StatusOps) == 0 || len(c.StatusOps) > MaxStatusOps {
		return refuse(floodgate.EInvalid, "A status change holds 1 to %d records.", MaxStatusOps)
	}
	total := 0
	for _, op := range c.StatusOps {
		if !validStatusKey(op.Key) {
			return refuse(floodgate.EInvalid, "A status record key is \"<bucket>/<id>\" of at most %d bytes.", MaxStatusKey)
		}
		if len(op.Value) > MaxStatusValue || (!op.Del && len(op.Value) == 0) {
			return refuse(floodgate.EInvalid, "A status record holds 1 byte to %d KiB.", MaxStatusValue>>10)
		}
		total += len(op.Key) + len(op.Value)
	}
	if total > MaxStatusOpsBytes {
		return refuse(floodgate.EInvalid, "A status change is at most %d MiB.", MaxStatusOpsBytes>>20)
	}
	if s.Status == nil {
		s.Status = map[string]StatusRecord{}
	}
	s.StatusSeq++
	for _, op := range c.StatusOps {
		if op.Del {
			delete(s.Status, op.Key)
			continue
		}
		s.Status[op.Key] = StatusRecord{Seq: s.StatusSeq, Value: append([]byte(nil), op.Value...)}
	}
	return Result{}
}
