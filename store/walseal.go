package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
// file. An index frame written without its commit frame is no seal: it is
// erased (tornSeal). It returns what it repaired ("" when nothing).
func sealRecoveredTail(walDir string) (string, error) {
	meta := &metadb.BoltMetaDB{}
	defer meta.Close()
	ps, err := meta.Load(walDir)
	if err != nil || len(ps.Segments) == 0 {
		return "", err
	}
	tail := ps.Segments[len(ps.Segments)-1]
	if !tail.SealTime.IsZero() {
		return "", nil
	}
	filer := segment.NewFiler(walDir, fs.New())
	w, err := filer.RecoverTail(tail)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil // Open creates it
	}
	if err != nil {
		return "", err
	}
	defer w.Close()
	sealed, indexStart, err := w.Sealed()
	if err != nil || !sealed {
		return "", err
	}
	last := w.LastIndex()
	path := filepath.Join(walDir, segment.FileName(tail))
	entries := uint64(0)
	if last >= tail.BaseIndex {
		entries = last + 1 - tail.BaseIndex
	}
	if torn, err := tornSeal(path, indexStart, entries); err != nil || torn {
		if torn {
			return "erased the index frame of an append a full disk had cut short", err
		}
		return "", err
	}
	if last < tail.BaseIndex {
		return "", fmt.Errorf("the tail segment %d is sealed in its file but holds no committed entry", tail.ID)
	}
	now := time.Now()
	tail.SealTime, tail.MaxIndex, tail.IndexStart = now, last, indexStart
	r, err := filer.Open(tail)
	if err != nil {
		return "", fmt.Errorf("open the sealed tail segment %d: %w", tail.ID, err)
	}
	defer r.Close()
	for i := tail.MinIndex; i <= last; i++ {
		if err := sameEntry(w, r, i); err != nil {
			return "", fmt.Errorf("the tail segment %d is sealed in its file, but its index does not match its entries (%w); not repaired", tail.ID, err)
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
		return "", fmt.Errorf("record the seal of segment %d: %w", tail.ID, err)
	}
	return "completed a log segment rotation that a full disk had cut short", nil
}

// Frame layout of raft-wal's segment files (its README, "Segment Files"):
// an 8-byte header (type in byte 0, the length or CRC little-endian in
// bytes 4-8), then the payload padded to 8 bytes.
const (
	frameHeaderLen = 8
	frameIndex     = 2
	frameCommit    = 3
)

// tornSeal erases an index frame that an append wrote without its commit
// frame, and reports whether it did. The append that fills a segment writes
// its entries, the segment's index frame and a commit frame at once; on a
// full disk that write stops anywhere, often past the preallocated end of
// the segment. raft-wal's recovery keeps the entries up to the last commit
// frame, but takes any index frame it reads for a seal: the segment then
// refuses every append although nothing sealed it, and its index (cut, or
// counting the entries of the failed append) does not match it. A seal is
// committed when its index counts exactly the committed entries and a
// commit frame follows it; otherwise its bytes are zeroed, as if the write
// had stopped before them, and the segment is recovered as an open tail.
func tornSeal(path string, indexStart, entries uint64) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return false, err
	}
	size := uint64(info.Size())
	if indexStart < frameHeaderLen || indexStart > size {
		return false, fmt.Errorf("the index of %s starts at %d, outside the file (%d bytes)", filepath.Base(path), indexStart, size)
	}
	start := indexStart - frameHeaderLen
	var h [frameHeaderLen]byte
	if _, err := f.ReadAt(h[:], int64(start)); err != nil {
		return false, fmt.Errorf("read the index frame of %s: %w", filepath.Base(path), err)
	}
	n := uint64(binary.LittleEndian.Uint32(h[4:]))
	end := min(indexStart+(n+frameHeaderLen-1)/frameHeaderLen*frameHeaderLen, size)
	var c [frameHeaderLen]byte
	if end+frameHeaderLen <= size {
		if _, err := f.ReadAt(c[:], int64(end)); err != nil {
			return false, fmt.Errorf("read the frame after the index of %s: %w", filepath.Base(path), err)
		}
	}
	if h[0] == frameIndex && n == 4*entries && c[0] == frameCommit {
		return false, nil
	}
	// Zero the index frame and what follows of it up to the frame after
	// (the commit frame's first bytes, if any reached the file).
	end = min(end+frameHeaderLen, size)
	if _, err := f.WriteAt(make([]byte, end-start), int64(start)); err != nil {
		return false, fmt.Errorf("erase the uncommitted index frame of %s: %w", filepath.Base(path), err)
	}
	if err := f.Sync(); err != nil {
		return false, fmt.Errorf("erase the uncommitted index frame of %s: %w", filepath.Base(path), err)
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
