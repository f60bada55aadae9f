package store

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func logs(from, to uint64) []*raft.Log {
	var out []*raft.Log
	for i := from; i <= to; i++ {
		out = append(out, &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: []byte{byte(i)}})
	}
	return out
}

// TestDiskLogOutOfServiceAndBack: after a failed write the log refuses
// writes until it is reopened from disk; entries a failed append left on
// disk are cut, so the log ends where Raft was told it does; a log that
// lost acknowledged entries is not put back into service. (The full disk
// itself is in e2e's TestDiskFull, on a real tmpfs.)
func TestDiskLogOutOfServiceAndBack(t *testing.T) {
	dir := t.TempDir()
	// No watcher: the test reopens by hand.
	if err := os.Mkdir(filepath.Join(dir, "wal"), 0o700); err != nil {
		t.Fatal(err)
	}
	d, err := newDiskLog(filepath.Join(dir, "wal"), dir, slog.Default(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	if err := d.StoreLogs(logs(1, 5)); err != nil {
		t.Fatal(err)
	}
	// An append whose commit frame reached the disk although the write
	// failed: raft-wal has it, Raft was told it failed.
	if err := d.wal.StoreLogs(logs(6, 7)); err != nil {
		t.Fatal(err)
	}
	_ = d.failed("append", syscall.ENOSPC)
	if d.Fault() == nil {
		t.Fatal("no fault after a failed write")
	}
	if err := d.StoreLogs(logs(8, 8)); !errors.Is(err, ErrDiskFault) {
		t.Fatalf("a write while out of service: %v", err)
	}
	var l raft.Log
	if err := d.GetLog(5, &l); err != nil || l.Data[0] != 5 {
		t.Fatalf("a read while out of service: %v %v", l.Data, err)
	}
	// A snapshot that failed on the full disk left its directory behind.
	stale := filepath.Join(dir, "snapshots", "1-5-1700000000000.tmp")
	if err := os.MkdirAll(stale, 0o700); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	_ = os.Chtimes(stale, old, old)
	fresh := filepath.Join(dir, "snapshots", "1-6-1700000000001.tmp")
	if err := os.MkdirAll(fresh, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := d.reopen(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("the failed snapshot's directory is still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatalf("a snapshot being written was removed: %v", err)
	}
	if d.Fault() != nil {
		t.Fatalf("still out of service after the reopen: %v", d.Fault())
	}
	if last, _ := d.LastIndex(); last != 5 {
		t.Fatalf("the reopened log ends at %d, want 5 (the failed append cut)", last)
	}
	// Raft sends 6 again, with other data.
	again := logs(6, 6)
	again[0].Data = []byte("again")
	if err := d.StoreLogs(again); err != nil {
		t.Fatal(err)
	}
	if err := d.GetLog(6, &l); err != nil || string(l.Data) != "again" {
		t.Fatalf("entry 6 after the reopen: %q %v", l.Data, err)
	}
	if err := d.SetUint64([]byte("CurrentTerm"), 3); err != nil {
		t.Fatal(err)
	}
	if v, err := d.GetUint64([]byte("CurrentTerm")); err != nil || v != 3 {
		t.Fatalf("stable store after the reopen: %d %v", v, err)
	}

	// A removal while out of service waits and is done on the reopened log
	// (Raft would go on as if it were done).
	_ = d.failed("append", syscall.ENOSPC)
	removed := make(chan error, 1)
	go func() { removed <- d.DeleteRange(1, 2) }()
	select {
	case err := <-removed:
		t.Fatalf("a removal returned while the log was out of service: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := d.reopen(); err != nil {
		t.Fatal(err)
	}
	if err := <-removed; err != nil {
		t.Fatalf("the removal after the reopen: %v", err)
	}
	if first, _ := d.FirstIndex(); first != 3 {
		t.Fatalf("first index %d after removing 1-2, want 3", first)
	}

	// A log that comes back shorter than what was stored stays out.
	d.last = 9
	_ = d.failed("append", syscall.EIO)
	if err := d.reopen(); err == nil {
		t.Fatal("a log that lost stored entries was put back into service")
	}
	if d.Fault() == nil {
		t.Fatal("the fault cleared although entries were lost")
	}
}

// TestCutTailThenRestart: a log whose tail was cut (a follower removing
// entries that conflict with a new leader's, or a reopen removing entries a
// failed append left on disk) and written on opens again after a restart,
// with every entry it had when it closed. raft-wal before v0.4.1 recorded
// the cut segment as sealed without writing its index, and the restarted
// log could not read it ("sealed segment has no index block"): Raft panics
// on that at start.
func TestCutTailThenRestart(t *testing.T) {
	for _, c := range []struct {
		name string
		cut  func(t *testing.T, d *diskLog) // leaves 1-7 of 1-10
	}{
		{"a follower's conflicting suffix", func(t *testing.T, d *diskLog) {
			if err := d.StoreLogs(logs(1, 10)); err != nil {
				t.Fatal(err)
			}
			if err := d.DeleteRange(8, 10); err != nil {
				t.Fatal(err)
			}
		}},
		{"a failed append cut by the reopen", func(t *testing.T, d *diskLog) {
			if err := d.StoreLogs(logs(1, 7)); err != nil {
				t.Fatal(err)
			}
			// The append's commit frame reached the disk, Raft was told
			// it failed.
			if err := d.wal.StoreLogs(logs(8, 10)); err != nil {
				t.Fatal(err)
			}
			_ = d.failed("append", syscall.ENOSPC)
			if err := d.reopen(); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) { cutTailThenRestart(t, c.cut) })
	}
}

// tempDiskLog opens a log in a new temporary directory dir, its WAL in
// walDir; the caller closes it.
func tempDiskLog(t *testing.T) (d *diskLog, walDir, dir string) {
	t.Helper()
	dir = t.TempDir()
	walDir = filepath.Join(dir, "wal")
	if err := os.Mkdir(walDir, 0o700); err != nil {
		t.Fatal(err)
	}
	d, err := newDiskLog(walDir, dir, quietLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return d, walDir, dir
}

func cutTailThenRestart(t *testing.T, cut func(*testing.T, *diskLog)) {
	d, walDir, dir := tempDiskLog(t)
	cut(t, d)
	want := logs(1, 12)
	for _, l := range want[7:] {
		l.Term, l.Data = 2, []byte{byte(l.Index), 2}
	}
	if err := d.StoreLogs(want[7:]); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d, err := newDiskLog(walDir, dir, quietLogger(), nil)
	if err != nil {
		t.Fatalf("reopening the log after a cut tail: %v", err)
	}
	defer d.Close()
	for _, w := range want {
		var l raft.Log
		if err := d.GetLog(w.Index, &l); err != nil {
			t.Fatalf("entry %d after the restart: %v", w.Index, err)
		}
		if l.Term != w.Term || string(l.Data) != string(w.Data) {
			t.Fatalf("entry %d after the restart: term %d data %v, want term %d data %v", w.Index, l.Term, l.Data, w.Term, w.Data)
		}
	}
	if last, err := d.LastIndex(); err != nil || last != 12 {
		t.Fatalf("last index after the restart: %d %v", last, err)
	}
	if err := d.StoreLogs(logs(13, 13)); err != nil {
		t.Fatalf("an append after the restart: %v", err)
	}
}
