package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/raft-wal/fs"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/segment"
	"github.com/hashicorp/raft-wal/types"
)

// sealRecoveredTail completes a segment rotation that a full disk cut short,
// before raft-wal opens the log.
//
// raft-wal seals a full segment inside the file (an index frame, committed
// with the append that filled it) and then, in the background, records the
// seal and the next segment in its metadata. When that metadata write fails
// (the disk is full), the metadata still names the sealed segment as the
// open tail: raft-wal's Open recovers it as a writer that refuses every
// append ("segment is sealed") and never rotates, in this process or after
// a restart. This finishes the rotation the way raft-wal does: the tail is
// recorded as sealed at its last committed entry and a new, empty tail is
// added (Open creates its file). It does so only when the index frame is
// consistent: every entry read through it is the entry read by scanning the
// file. It reports whether it changed anything.
func sealRecoveredTail(walDir string) (bool, error) {
	meta := &metadb.BoltMetaDB{}
	defer meta.Close()
	ps, err := meta.Load(walDir)
	if err != nil || len(ps.Segments) == 0 {
		return false, err
	}
	tail := ps.Segments[len(ps.Segments)-1]
	if !tail.SealTime.IsZero() {
		return false, nil
	}
	filer := segment.NewFiler(walDir, fs.New())
	w, err := filer.RecoverTail(tail)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil // Open creates it
	}
	if err != nil {
		return false, err
	}
	defer w.Close()
	sealed, indexStart, err := w.Sealed()
	if err != nil || !sealed {
		return false, err
	}
	last := w.LastIndex()
	if last < tail.BaseIndex {
		return false, fmt.Errorf("the tail segment %d is sealed in its file but holds no committed entry", tail.ID)
	}
	now := time.Now()
	tail.SealTime, tail.MaxIndex, tail.IndexStart = now, last, indexStart
	r, err := filer.Open(tail)
	if err != nil {
		return false, fmt.Errorf("open the sealed tail segment %d: %w", tail.ID, err)
	}
	defer r.Close()
	for i := tail.MinIndex; i <= last; i++ {
		if err := sameEntry(w, r, i); err != nil {
			return false, fmt.Errorf("the tail segment %d is sealed in its file, but its index does not match its entries (%w); not repaired", tail.ID, err)
		}
	}
	ps.Segments[len(ps.Segments)-1] = tail
	ps.Segments = append(ps.Segments, types.SegmentInfo{
		ID:         ps.NextSegmentID,
		BaseIndex:  last + 1,
		MinIndex:   last + 1,
		SizeLimit:  tail.SizeLimit,
		Codec:      tail.Codec,
		CreateTime: now,
	})
	ps.NextSegmentID++
	if err := meta.CommitState(ps); err != nil {
		return false, fmt.Errorf("record the seal of segment %d: %w", tail.ID, err)
	}
	return true, nil
}

func sameEntry(a, b types.SegmentReader, i uint64) error {
	x, err := a.GetLog(i)
	if err != nil {
		return fmt.Errorf("entry %d: %w", i, err)
	}
	defer x.Close()
	y, err := b.GetLog(i)
	if err != nil {
		return fmt.Errorf("entry %d through the index: %w", i, err)
	}
	defer y.Close()
	if !bytes.Equal(x.Bs, y.Bs) {
		return fmt.Errorf("entry %d differs through the index", i)
	}
	return nil
}
