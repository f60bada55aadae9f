package store

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// sameLog fails unless a and b are the same entry, field by field.
func sameLog(t *testing.T, what string, a, b *raft.Log) {
	t.Helper()
	if a.Index != b.Index || a.Term != b.Term || a.Type != b.Type || !reflect.DeepEqual(a.Data, b.Data) ||
		!reflect.DeepEqual(a.Extensions, b.Extensions) || !a.AppendedAt.Equal(b.AppendedAt) {
		t.Fatalf("%s: %+v, want %+v", what, *a, *b)
	}
}

// TestRecentLogs: entries read back from memory are those the WAL has; a
// failed append leaves nothing to read back; a reopen or a restart reads
// from disk; after a follower cuts a conflicting suffix and stores other
// entries at the same indexes, and after compaction, only what the WAL has
// now is read back.
func TestRecentLogs(t *testing.T) {
	d, walDir, dir := tempDiskLog(t)
	defer func() { _ = d.Close() }()
	at := time.Unix(1700000000, 123456789)
	entry := func(i, term uint64, data string) *raft.Log {
		l := &raft.Log{Index: i, Term: term, Type: raft.LogCommand, Data: []byte(data), AppendedAt: at.Add(time.Duration(i) * time.Millisecond)}
		if i%3 == 0 {
			l.Type, l.Extensions = raft.LogNoop, []byte{'x', byte(i)}
		}
		return l
	}
	check := func(what string, want []*raft.Log, cached bool) {
		t.Helper()
		for _, w := range want {
			var got, disk, mem raft.Log
			if err := d.GetLog(w.Index, &got); err != nil {
				t.Fatalf("%s: entry %d: %v", what, w.Index, err)
			}
			if err := d.wal.GetLog(w.Index, &disk); err != nil {
				t.Fatalf("%s: entry %d from the WAL: %v", what, w.Index, err)
			}
			sameLog(t, what+": from the WAL", &disk, w)
			sameLog(t, what+": read back", &got, &disk)
			if d.recent.get(w.Index, &mem) != cached {
				t.Fatalf("%s: entry %d held in memory: %v, want %v", what, w.Index, !cached, cached)
			}
		}
	}
	notFound := func(what string, index uint64) {
		t.Helper()
		var l raft.Log
		if err := d.GetLog(index, &l); !errors.Is(err, raft.ErrLogNotFound) {
			t.Fatalf("%s: entry %d: %+v %v", what, index, l, err)
		}
	}
	var stored []*raft.Log
	for i := uint64(1); i <= 10; i++ {
		stored = append(stored, entry(i, 1, "first"+string(rune('a'+i))))
	}
	if err := d.StoreLogs(stored[:4]); err != nil {
		t.Fatal(err)
	}
	if err := d.StoreLogs(stored[4:]); err != nil {
		t.Fatal(err)
	}
	check("stored", stored, true)

	// A failed append (raft-wal refuses a gap) takes the log out of
	// service; nothing of it is read back.
	if err := d.StoreLogs([]*raft.Log{entry(20, 1, "lost")}); !errors.Is(err, ErrDiskFault) {
		t.Fatalf("an append after a gap: %v", err)
	}
	notFound("a failed append", 20)
	check("out of service", stored, true)

	// A reopen reads from disk.
	if err := d.reopen(); err != nil {
		t.Fatal(err)
	}
	check("after the reopen", stored, false)
	more := []*raft.Log{entry(11, 1, "more"), entry(12, 1, "more")}
	if err := d.StoreLogs(more); err != nil {
		t.Fatal(err)
	}
	check("appended after the reopen", more, true)
	stored = append(stored, more...)

	// A restart too.
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	var l raft.Log
	if err := d.GetLog(12, &l); !errors.Is(err, errLogClosed) {
		t.Fatalf("a read of a closed log: %+v %v", l, err)
	}
	d, err := newDiskLog(walDir, dir, quietLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	check("after a restart", stored, false)

	// A follower's conflicting suffix (partly held, partly not) is cut and
	// replaced by the leader's entries of a later term.
	more = []*raft.Log{entry(13, 1, "old"), entry(14, 1, "old"), entry(15, 1, "old")}
	if err := d.StoreLogs(more); err != nil {
		t.Fatal(err)
	}
	check("before the cut", more, true)
	if err := d.DeleteRange(10, 15); err != nil {
		t.Fatal(err)
	}
	notFound("after the suffix was cut", 14)
	stored = stored[:9]
	for i := uint64(10); i <= 13; i++ {
		stored = append(stored, entry(i, 2, "second"))
	}
	if err := d.StoreLogs(stored[9:]); err != nil {
		t.Fatal(err)
	}
	check("after the suffix was replaced", stored[9:], true)
	check("before the suffix", stored[:9], false)
	notFound("an entry of the old term past the new end", 14)

	// Compaction.
	if err := d.DeleteRange(1, 11); err != nil {
		t.Fatal(err)
	}
	if d.recent.get(11, &l) {
		t.Fatalf("entry 11 held after compaction: %+v", l)
	}
	check("after compaction", stored[11:], true)
}

// TestRecentLogsBounds: recentLogs holds at most its number of entries and
// of bytes, the newest ones, and a run that does not follow replaces it.
func TestRecentLogsBounds(t *testing.T) {
	c := newRecentLogs(4, 10)
	held := func(want ...uint64) {
		t.Helper()
		var got []uint64
		for i := uint64(0); i <= 20; i++ {
			var l raft.Log
			if c.get(i, &l) {
				if l.Index != i {
					t.Fatalf("entry %d answered with %d", i, l.Index)
				}
				got = append(got, i)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("held %v, want %v", got, want)
		}
	}
	sized := func(i uint64, n int) *raft.Log {
		return &raft.Log{Index: i, Term: 1, Data: make([]byte, n)}
	}
	c.add([]*raft.Log{sized(1, 1), sized(2, 1), sized(3, 1), sized(4, 1), sized(5, 1), sized(6, 1)})
	held(3, 4, 5, 6)
	c.add([]*raft.Log{sized(7, 8)}) // 12 bytes with 3-6: 5-7 fit
	held(5, 6, 7)
	if c.bytes != 10 {
		t.Fatalf("bytes %d, want 10", c.bytes)
	}
	c.add([]*raft.Log{sized(8, 11)}) // larger than the bound: not held
	held()
	c.add([]*raft.Log{sized(12, 1), sized(13, 1)}) // after a snapshot: a new run
	held(12, 13)
	c.add([]*raft.Log{sized(14, 1), sized(15, 1)})
	c.deleteRange(14, 20)
	held(12, 13)
	c.deleteRange(1, 12)
	held(13)
	c.deleteRange(13, 13)
	held()
	if c.bytes != 0 {
		t.Fatalf("bytes %d held by nothing", c.bytes)
	}
}
