package store

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
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
	if err != nil || repaired == "" {
		t.Fatalf("repair: %q %v", repaired, err)
	}
	if again, err := sealRecoveredTail(dir); err != nil || again != "" {
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

// TestTornSealingAppend cuts the append that fills a segment at every byte,
// as a full disk does (a write stops where the space ends): the entries,
// then the segment's index frame, then the commit frame. Whatever part of it
// reached the file, the reopened log ends at the last committed entry (or
// the new one, when the whole append made it) and takes appends again. An
// index frame without its commit frame is not a seal: the log must not be
// wedged by it, nor refuse to open.
func TestTornSealingAppend(t *testing.T) {
	base := t.TempDir()
	entry := func(i uint64) []*raft.Log {
		l := logs(i, i)
		l[0].Data = bytes.Repeat([]byte{byte(i)}, 200)
		return l
	}
	open := func(dir string) (*raftwal.WAL, *metadb.BoltMetaDB) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		meta := &metadb.BoltMetaDB{}
		w, err := raftwal.Open(dir, raftwal.WithMetaStore(meta), raftwal.WithSegmentSize(4096))
		if err != nil {
			t.Fatal(err)
		}
		return w, meta
	}
	segments := func(dir string) []types.SegmentInfo {
		m := &metadb.BoltMetaDB{}
		defer m.Close()
		ps, err := m.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		return ps.Segments
	}
	// Find the append that seals the first segment.
	probe := filepath.Join(base, "probe")
	w, meta := open(probe)
	var n uint64
	for i := uint64(1); n == 0; i++ {
		if err := w.StoreLogs(entry(i)); err != nil {
			t.Fatal(err)
		}
		if ps, _ := meta.Load(probe); len(ps.Segments) > 1 {
			n = i
		}
	}
	w.Close()
	meta.Close()

	// The log just before that append, and the segment's bytes after it.
	pre := filepath.Join(base, "pre")
	w, meta = open(pre)
	if err := w.StoreLogs(logsOf(entry, 1, n-1)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	meta.Close()
	seg := segment.FileName(segments(pre)[0])
	post := filepath.Join(base, "post")
	copyDir(t, pre, post)
	w, meta = open(post)
	if err := w.StoreLogs(entry(n)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	meta.Close()
	before, err := os.ReadFile(filepath.Join(pre, seg))
	if err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(filepath.Join(post, seg))
	if err != nil {
		t.Fatal(err)
	}
	from, to := 0, len(after)
	for from < len(before) && before[from] == after[from] {
		from++
	}
	for to > from && (to > len(before) || before[to-1] == after[to-1]) && after[to-1] == 0 {
		to--
	}
	if from >= to {
		t.Fatal("the sealing append changed nothing in the segment file")
	}
	t.Logf("entry %d seals the segment; its append writes bytes %d-%d", n, from, to)

	for cut := from; cut <= to; cut++ {
		dir := filepath.Join(base, fmt.Sprintf("cut-%d", cut))
		copyDir(t, pre, dir)
		torn := append(after[:cut:cut], before[min(cut, len(before)):]...)
		if err := os.WriteFile(filepath.Join(dir, seg), torn, 0o644); err != nil {
			t.Fatal(err)
		}
		wal, m, err := openWAL(dir, slog.New(slog.DiscardHandler), hclogger(slog.New(slog.DiscardHandler), "wal"))
		if err != nil {
			t.Fatalf("cut at byte %d: the log does not open: %v", cut, err)
		}
		want := n - 1
		if cut == to {
			want = n
		}
		last, _ := wal.LastIndex()
		if last != want {
			t.Fatalf("cut at byte %d: the reopened log ends at %d, want %d", cut, last, want)
		}
		var l raft.Log
		for j := uint64(1); j <= last; j++ {
			if err := wal.GetLog(j, &l); err != nil || l.Index != j || !bytes.Equal(l.Data, entry(j)[0].Data) {
				t.Fatalf("cut at byte %d: entry %d: %v", cut, j, err)
			}
		}
		if err := wal.StoreLogs(logsOf(entry, last+1, last+2)); err != nil {
			t.Fatalf("cut at byte %d: an append after reopening: %v", cut, err)
		}
		wal.Close()
		m.Close()
		_ = os.RemoveAll(dir)
	}
}

func logsOf(entry func(uint64) []*raft.Log, from, to uint64) []*raft.Log {
	var out []*raft.Log
	for i := from; i <= to; i++ {
		out = append(out, entry(i)...)
	}
	return out
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	names, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range names {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
