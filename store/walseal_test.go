package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftwal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/segment"
	"github.com/hashicorp/raft-wal/types"
)

// TestSealRecoveredTail reproduces what a full disk leaves behind when the
// append that fills a segment succeeds but recording the rotation does not:
// the file is sealed, the metadata still names it as the open tail, and
// raft-wal refuses every append after opening it. The repair completes the
// rotation, and the log takes appends again with every entry intact.
func TestSealRecoveredTail(t *testing.T) {
	dir := t.TempDir()
	open := func() (*raftwal.WAL, *metadb.BoltMetaDB) {
		meta := &metadb.BoltMetaDB{}
		w, err := raftwal.Open(dir, raftwal.WithMetaStore(meta), raftwal.WithSegmentSize(4096))
		if err != nil {
			t.Fatal(err)
		}
		return w, meta
	}
	w, meta := open()
	for i := uint64(1); ; i++ {
		if err := w.StoreLogs(logs(i, i)); err != nil {
			t.Fatal(err)
		}
		ps, _ := meta.Load(dir)
		if len(ps.Segments) >= 2 {
			break // the first segment filled and rotated
		}
	}
	w.Close()
	meta.Close()
	// Undo the recorded rotation, as if its metadata write had failed.
	m := &metadb.BoltMetaDB{}
	ps, err := m.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	next := ps.Segments[len(ps.Segments)-1]
	last := next.BaseIndex - 1 // appends after the seal went to the new segment: never made here
	ps.Segments = ps.Segments[:len(ps.Segments)-1]
	tail := &ps.Segments[len(ps.Segments)-1]
	tail.SealTime, tail.MaxIndex, tail.IndexStart = time.Time{}, 0, 0
	ps.NextSegmentID--
	if err := m.CommitState(ps); err != nil {
		t.Fatal(err)
	}
	m.Close()
	_ = os.Remove(filepath.Join(dir, segment.FileName(next)))

	w, meta = open()
	if err := w.StoreLogs(logs(last+1, last+1)); !errors.Is(err, types.ErrSealed) {
		t.Fatalf("raft-wal after a rotation it did not record: %v (this test expects it wedged)", err)
	}
	w.Close()
	meta.Close()

	repaired, err := sealRecoveredTail(dir)
	if err != nil || !repaired {
		t.Fatalf("repair: %v %v", repaired, err)
	}
	if again, err := sealRecoveredTail(dir); err != nil || again {
		t.Fatalf("a second repair: %v %v", again, err)
	}
	w, meta = open()
	defer meta.Close()
	defer w.Close()
	if err := w.StoreLogs(logs(last+1, last+3)); err != nil {
		t.Fatalf("append after the repair: %v", err)
	}
	var l raft.Log
	for j := uint64(1); j <= last+3; j++ {
		if err := w.GetLog(j, &l); err != nil || l.Index != j || l.Data[0] != byte(j) {
			t.Fatalf("entry %d after the repair: %+v %v", j, l, err)
		}
	}
}
