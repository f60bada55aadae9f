package testkit

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"
	raftwal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

// TestWALRoom: the room WALRoom reads from a raft-wal segment goes down by
// what each append writes, to within a block, and is back to nearly a whole
// segment less the entry that opened it once the log moves on to the next
// one.
func TestWALRoom(t *testing.T) {
	data := t.TempDir()
	dir := filepath.Join(data, "raft", "wal")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	meta := &metadb.BoltMetaDB{}
	const segment = 4 << 20
	w, err := raftwal.Open(dir, raftwal.WithMetaStore(meta), raftwal.WithSegmentSize(segment))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(); meta.Close() })
	entry := bytes.Repeat([]byte("x"), 300<<10)
	room := WALRoom(t, data)
	if room < segment-2*walBlock || room > segment {
		t.Fatalf("an empty segment has room %d, want about %d", room, segment)
	}
	size := int64(len(entry))
	for i := uint64(1); ; i++ {
		if err := w.StoreLog(&raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: entry}); err != nil {
			t.Fatal(err)
		}
		now := WALRoom(t, data)
		segs, err := filepath.Glob(filepath.Join(dir, "*.wal"))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case len(segs) > 1 && (now == 0 || now > segment-size+walBlock):
			// raft-wal moves on to the next segment in the background once
			// an append fills one: the new file may still be empty, or not
			// yet preallocated (size 0). This entry is in the old one; the
			// next append waits for the new segment and goes there.
		case len(segs) > 1: // this entry opened the next segment
			if now < segment-size-2*walBlock || now > segment-size+walBlock {
				t.Fatalf("entry %d is the first of a new segment, whose room is %d, want about %d", i, now, segment-size)
			}
			return
		case room >= size+walBlock: // it fit
			if used := room - now; used < size-walBlock || used > size+walBlock {
				t.Fatalf("entry %d took %d bytes of room, want about %d", i, used, size)
			}
		case i > 20:
			t.Fatal("no new segment after 20 entries")
		}
		room = now
	}
}
