package testkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// SmallDisk mounts a tmpfs of the given size ("300M") on a new temporary
// directory and returns its path; it is unmounted when the test ends.
// Mounting needs root: without it the test is skipped, or fails when
// CI=true (CI runs as root).
func SmallDisk(t testing.TB, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("this test mounts a tmpfs and needs root")
		}
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// FillDisk writes the file path until its file system is full.
func FillDisk(t testing.TB, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatalf("fill the disk: %v", err)
		}
	}
}

// FillerDrop is the body of POST /api/v1/drops for a drop id with 2,000
// long vouchers: about 400 KB of log a drop, so that a few hundred of them
// fill a small disk.
func FillerDrop(id string) []byte {
	vouchers := make([]string, 2000)
	for i := range vouchers {
		vouchers[i] = fmt.Sprintf("V%06d-%s", i, strings.Repeat("x", 180))
	}
	body, _ := json.Marshal(map[string]any{"id": id, "name": "filler", "stock": 1000, "vouchers": vouchers})
	return body
}

// walBlock is the granularity of WALRoom: a block of the written part of a
// segment is never all zeros (every entry and frame header has some).
const walBlock = 64 << 10

// WALRoom returns about how many bytes the segment that a node's Raft log
// is writing (the last *.wal file under dataDir/raft/wal) still has room
// for, to within 64 KiB. raft-wal preallocates each segment zero-filled and
// writes it from the start, so the written part ends at the first all-zero
// block, after which the file holds only zeros. A segment's room can be
// written on a full disk: only a new segment needs space.
func WALRoom(tb testing.TB, dataDir string) int64 {
	tb.Helper()
	segs, err := filepath.Glob(filepath.Join(dataDir, "raft", "wal", "*.wal"))
	if err != nil || len(segs) == 0 {
		tb.Fatalf("no Raft log segment under %s: %v", dataDir, err)
	}
	slices.Sort(segs) // named by first index, zero-padded
	f, err := os.Open(segs[len(segs)-1])
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	buf := make([]byte, walBlock)
	zero := func(block int64) bool {
		n, err := f.ReadAt(buf, block*walBlock)
		if err != nil && !errors.Is(err, io.EOF) {
			tb.Fatal(err)
		}
		return !slices.ContainsFunc(buf[:n], func(b byte) bool { return b != 0 })
	}
	blocks := int((info.Size() + walBlock - 1) / walBlock)
	// The first all-zero block: every block before it is written.
	written := sort.Search(blocks, func(i int) bool { return zero(int64(i)) })
	return max(info.Size()-int64(written)*walBlock, 0)
}
