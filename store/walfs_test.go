package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/floodgate/floodgate/internal/nice"
	"github.com/floodgate/floodgate/internal/testkit"
	raftwal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/fs"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/segment"
	"github.com/hashicorp/raft-wal/types"
)

const seekHole = 4 // lseek's SEEK_HOLE

// zeroingDir returns a temporary directory where zeroAheadFS zeroes
// segments and where a fallocated file reads as a hole (so a test can see
// which blocks were written), or skips the test.
func zeroingDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type == tmpfsMagic {
		t.Skip("the temporary directory is on tmpfs, where segments are not zeroed")
	}
	f, err := fs.New().Create(dir, "probe", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(filepath.Join(dir, "probe"))
	defer f.Close()
	if hole, err := f.(*fs.File).Seek(0, seekHole); err != nil || hole != 0 {
		t.Skipf("this file system does not report preallocated blocks as a hole (%d, %v)", hole, err)
	}
	return dir
}

// createZeroing creates a segment file of size through zeroAheadFS in a
// zeroingDir, and returns it and the directory.
func createZeroing(t *testing.T, size uint64) (*zeroAheadFile, string) {
	t.Helper()
	dir := zeroingDir(t)
	wf, err := newZeroAheadFS().Create(dir, "seg.wal", size)
	if err != nil {
		t.Fatal(err)
	}
	w, ok := wf.(*zeroAheadFile)
	if !ok {
		t.Fatalf("Create returned %T, not a file being zeroed", wf)
	}
	return w, dir
}

// waitZeroed waits until the zeroing of w has stopped: it reached the end
// of the file or zeroAhead past the appends, or gave up.
func waitZeroed(t *testing.T, w *zeroAheadFile) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		w.mu.Lock()
		// Waiting with no room: woken by an append, it is still counted
		// as waiting until it runs.
		idle := w.zeroerWaits && !w.roomAhead() || w.zeroed >= w.size
		w.mu.Unlock()
		select {
		case <-w.done:
			return
		default:
		}
		if idle {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the zeroing did not stop within a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// segmentAppends appends to a segment file the way raft-wal does
// (sequential writes of up to 70 KiB, none of their bytes zero, now and then
// a sync) and keeps what it appended.
type segmentAppends struct {
	t    *testing.T
	rng  *rand.Rand
	want []byte
}

// to appends to w until limit bytes are appended, and syncs.
func (a *segmentAppends) to(w types.WritableFile, limit int) {
	a.t.Helper()
	for len(a.want) < limit {
		p := make([]byte, 1+a.rng.IntN(70<<10))
		for i := range p {
			p[i] = byte(a.rng.IntN(255) + 1)
		}
		if _, err := w.WriteAt(p, int64(len(a.want))); err != nil {
			a.t.Fatal(err)
		}
		a.want = append(a.want, p...)
		if a.rng.IntN(8) == 0 {
			if err := w.Sync(); err != nil {
				a.t.Fatal(err)
			}
		}
	}
	if err := w.Sync(); err != nil {
		a.t.Fatal(err)
	}
}

// zeroedAhead waits until the zeroing of w has stopped and checks that it
// reached about zeroAhead past the appends, with no hole from the offset
// from to the zeros' end: those blocks are written, so later appends
// overwrite written blocks.
func (a *segmentAppends) zeroedAhead(w *zeroAheadFile, path string, from int64) {
	a.t.Helper()
	waitZeroed(a.t, w)
	w.mu.Lock()
	zeroed, written := w.zeroed, w.written
	w.mu.Unlock()
	if written != int64(len(a.want)) {
		a.t.Fatalf("written %d, appended %d", written, len(a.want))
	}
	if zeroed < written+zeroAhead-zeroChunk {
		a.t.Fatalf("zeros reached %d, want about %d (%d past the appends)", zeroed, written+zeroAhead, zeroAhead)
	}
	f, err := os.Open(path)
	if err != nil {
		a.t.Fatal(err)
	}
	defer f.Close()
	if hole, err := f.Seek(from, seekHole); err != nil || hole < zeroed {
		a.t.Fatalf("first hole from %d at %d (%v), want none before %d", from, hole, err, zeroed)
	}
}

// readBack checks the closed segment file at path: it keeps its size,
// every appended byte reads back and every other byte is zero.
func (a *segmentAppends) readBack(path string, size int) {
	a.t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		a.t.Fatal(err)
	}
	if len(got) != size {
		a.t.Fatalf("the file is %d bytes, want %d", len(got), size)
	}
	if !bytes.Equal(got[:len(a.want)], a.want) {
		a.t.Fatal("the appended bytes do not read back")
	}
	if i := bytes.IndexFunc(got[len(a.want):], func(r rune) bool { return r != 0 }); i >= 0 {
		a.t.Fatalf("a byte past the appends is not zero, at %d", len(a.want)+i)
	}
}

// TestZeroAheadKeepsTheAppendsAndZeroesAhead appends to a new segment file
// the way raft-wal does (sequential writes, now and then a sync) while
// its zeros are written ahead: every appended byte reads back, every other
// byte is zero, the file keeps its preallocated size, and the blocks ahead
// of the appends are written (no longer a hole), so later appends overwrite
// written blocks.
func TestZeroAheadKeepsTheAppendsAndZeroesAhead(t *testing.T) {
	const size = 24 << 20
	w, dir := createZeroing(t, size)
	path := filepath.Join(dir, "seg.wal")
	a := &segmentAppends{t: t, rng: rand.New(rand.NewPCG(1, 2))}
	a.to(w, 6<<20)
	a.zeroedAhead(w, path, 0)
	a.to(w, 20<<20)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	a.readBack(path, size)
}

// TestZeroAheadWakesOncePerChunk: once the zeros are zeroAhead past the
// appends, the zeroing goroutine wakes when the appends have made room for
// another chunk, not at every append.
func TestZeroAheadWakesOncePerChunk(t *testing.T) {
	w, _ := createZeroing(t, 32<<20)
	defer w.Close()
	p := bytes.Repeat([]byte{7}, 8<<10)
	off := int64(0)
	appendTo := func(limit int64) {
		for off < limit {
			if _, err := w.WriteAt(p, off); err != nil {
				t.Fatal(err)
			}
			if err := w.Sync(); err != nil {
				t.Fatal(err)
			}
			off += int64(len(p))
		}
	}
	appendTo(zeroAfter)
	waitZeroed(t, w)
	w.mu.Lock()
	wakes0, zeroed0 := w.zeroerWakes, w.zeroed
	w.mu.Unlock()
	const more = 2 << 20
	appendTo(zeroAfter + more) // 256 appends, each synced
	waitZeroed(t, w)
	w.mu.Lock()
	wakes, zeroed := w.zeroerWakes-wakes0, w.zeroed
	w.mu.Unlock()
	if zeroed < zeroed0+more-zeroChunk {
		t.Fatalf("the zeros went from %d to %d while %d bytes were appended", zeroed0, zeroed, more)
	}
	if wakes > more/zeroChunk+1 {
		t.Fatalf("the zeroing goroutine woke %d times over %d appends of %d bytes, want at most %d", wakes, more/len(p), len(p), more/zeroChunk+1)
	}
}

// TestZeroAheadStopsOnAnErrorAndTheAppendsGoOn: when writing the zeros
// fails (here its descriptor cannot write), the zeroing stops and the
// appends and syncs go on as if there were none.
func TestZeroAheadStopsOnAnErrorAndTheAppendsGoOn(t *testing.T) {
	w, dir := createZeroing(t, 8<<20)
	ro, err := os.Open(filepath.Join(dir, "seg.wal"))
	if err != nil {
		t.Fatal(err)
	}
	_ = w.zf.Close()
	w.zf = ro
	p := bytes.Repeat([]byte{7}, 64<<10)
	off := int64(0)
	for off+int64(len(p)) <= 6<<20 {
		if _, err := w.WriteAt(p, off); err != nil {
			t.Fatalf("an append after the zeroing failed: %v", err)
		}
		if err := w.Sync(); err != nil {
			t.Fatalf("a sync after the zeroing failed: %v", err)
		}
		off += int64(len(p))
	}
	select {
	case <-w.done:
	case <-time.After(time.Minute):
		t.Fatal("the zeroing did not stop after its write failed")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "seg.wal"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:off], bytes.Repeat([]byte{7}, int(off))) || bytes.IndexByte(got[:off], 0) >= 0 {
		t.Fatal("the appended bytes do not read back")
	}
}

// TestZeroAheadOfAReopenedSegment: a segment written before (the tail
// raft-wal recovers after a restart) is zeroed ahead of the appends as a new
// one, from the end of the first append after the reopen, never at or below
// an appended byte: everything appended before and after the reopen reads
// back, every other byte is zero, and the blocks ahead of the appends are
// written. A sparse segment (its blocks not allocated) is not zeroed: there
// the zeros would take room on the disk.
func TestZeroAheadOfAReopenedSegment(t *testing.T) {
	dir := zeroingDir(t)
	const size = 24 << 20
	path := filepath.Join(dir, "seg.wal")
	a := &segmentAppends{t: t, rng: rand.New(rand.NewPCG(5, 6))}
	// Written before the restart, by raft-wal's own file system.
	before, err := fs.New().Create(dir, "seg.wal", size)
	if err != nil {
		t.Fatal(err)
	}
	a.to(before, 3<<20)
	if err := before.Close(); err != nil {
		t.Fatal(err)
	}

	wf, err := newZeroAheadFS().OpenWriter(dir, "seg.wal")
	if err != nil {
		t.Fatal(err)
	}
	w, ok := wf.(*zeroAheadFile)
	if !ok {
		_ = wf.Close()
		t.Fatalf("OpenWriter returned %T, not a file being zeroed", wf)
	}
	reopenedAt := int64(len(a.want))
	a.to(w, 6<<20)
	a.zeroedAhead(w, path, reopenedAt)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	a.readBack(path, size)

	sparse := filepath.Join(dir, "sparse.wal")
	if err := os.WriteFile(sparse, bytes.Repeat([]byte{9}, 2<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(sparse, size); err != nil {
		t.Fatal(err)
	}
	sf, err := newZeroAheadFS().OpenWriter(dir, "sparse.wal")
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	if _, ok := sf.(*zeroAheadFile); ok {
		t.Fatal("a sparse segment is zeroed ahead: the zeros would take room")
	}
}

// walChildEnv makes the test binary the child of TestKilledWhileZeroing.
const walChildEnv = "FLOODGATE_TEST_WAL_CHILD"

const childSegment = 8 << 20

func openZeroingWAL(dir string) (*raftwal.WAL, *metadb.BoltMetaDB, error) {
	meta := &metadb.BoltMetaDB{}
	w, err := raftwal.Open(dir, raftwal.WithMetaStore(meta), raftwal.WithSegmentSize(childSegment),
		raftwal.WithSegmentFiler(segment.NewFiler(dir, newZeroAheadFS())))
	if err != nil {
		_ = meta.Close()
		return nil, nil, err
	}
	return w, meta, nil
}

// entryData is the data of log entry i: 1-9 KiB, none of it zero.
func entryData(i uint64) []byte {
	rng := rand.New(rand.NewPCG(i, 3))
	p := make([]byte, 1<<10+rng.IntN(8<<10))
	for j := range p {
		p[j] = byte(rng.IntN(255) + 1)
	}
	return p
}

// TestKilledWhileZeroing: a process appending to a raft-wal log through
// zeroAheadFS (8 MiB segments, zeros being written ahead, 8 entries an
// append) is killed with SIGKILL in its third segment; every append it had
// acknowledged reads back after the log is reopened, every entry the log
// holds is the one appended, and the reopened log takes appends and
// reopens again.
func TestKilledWhileZeroing(t *testing.T) {
	if dir := os.Getenv(walChildEnv); dir != "" {
		walChild(dir)
		return
	}
	dir := zeroingDir(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWhileZeroing$")
	cmd.Env = append(os.Environ(), walChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	// The child prints each index once its append returned.
	acked := uint64(0)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		i, err := strconv.ParseUint(sc.Text(), 10, 64)
		if err != nil {
			t.Fatalf("the child said %q", sc.Text())
		}
		acked = i
		if acked >= 4000 { // about 20 MiB: two segments and part of a third
			break
		}
	}
	if acked < 4000 {
		t.Fatalf("the child stopped after %d appends: %v", acked, sc.Err())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	if len(segs) < 3 {
		t.Fatalf("%d segment files, want at least 3", len(segs))
	}

	check := func(upTo uint64) {
		t.Helper()
		w, meta, err := openZeroingWAL(dir)
		if err != nil {
			t.Fatalf("reopen after the kill: %v", err)
		}
		defer meta.Close()
		defer w.Close()
		last, err := w.LastIndex()
		if err != nil || last < upTo {
			t.Fatalf("the reopened log ends at %d (%v); %d were acknowledged", last, err, upTo)
		}
		for i := uint64(1); i <= last; i++ {
			var l raft.Log
			if err := w.GetLog(i, &l); err != nil {
				t.Fatalf("entry %d of %d: %v", i, last, err)
			}
			if !bytes.Equal(l.Data, entryData(i)) {
				t.Fatalf("entry %d of %d reads back different data", i, last)
			}
		}
		if err := w.StoreLogs([]*raft.Log{{Index: last + 1, Term: 1, Type: raft.LogCommand, Data: entryData(last + 1)}}); err != nil {
			t.Fatalf("append after the reopen: %v", err)
		}
	}
	check(acked)
	check(acked + 1)
}

func walChild(dir string) {
	w, _, err := openZeroingWAL(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for i := uint64(1); ; i += 8 {
		var batch []*raft.Log
		for j := i; j < i+8; j++ {
			batch = append(batch, &raft.Log{Index: j, Term: 1, Type: raft.LogCommand, Data: entryData(j)})
		}
		if err := w.StoreLogs(batch); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println(i + 7)
	}
}

var _ types.VFS = zeroAheadFS{}

// BenchmarkWALAppend appends one 16 KiB log entry at a time (about what an
// entry of 128 commands takes) to a raft-wal log on the temporary
// directory's disk, each append written and fsynced, through raft-wal's own
// file system (fallocated segments) and through zeroAheadFS; and, as the
// disk's floor, 16 KiB written and fdatasynced at a time into a file of
// zeros with no log around it ("disk"). Run it on a disk: on tmpfs the
// three are the same.
func BenchmarkWALAppend(b *testing.B) {
	b.Run("disk", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "floor"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		const size = 16 << 10
		zeros := make([]byte, 1<<20)
		for range 64 { // 64 MiB written and synced ahead, as a zeroed segment
			if _, err := f.Write(zeros); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		data := bytes.Repeat([]byte{'a'}, size)
		b.ResetTimer()
		for i := range b.N {
			if _, err := f.WriteAt(data, int64(i%(64<<20/size))*size); err != nil {
				b.Fatal(err)
			}
			if err := syscall.Fdatasync(int(f.Fd())); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, c := range []struct {
		name string
		vfs  types.VFS
	}{{"fallocate", fs.New()}, {"zeroed", newZeroAheadFS()}} {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			meta := &metadb.BoltMetaDB{}
			w, err := raftwal.Open(dir, raftwal.WithMetaStore(meta), raftwal.WithSegmentFiler(segment.NewFiler(dir, c.vfs)))
			if err != nil {
				b.Fatal(err)
			}
			defer meta.Close()
			defer w.Close()
			data := bytes.Repeat([]byte("a command of a buyer "), 16<<10/21)
			l := &raft.Log{Term: 1, Type: raft.LogCommand, Data: data}
			b.ResetTimer()
			cpu0 := nice.ProcessCPU()
			for i := range b.N {
				l.Index = uint64(i + 1)
				if err := w.StoreLog(l); err != nil {
					b.Fatal(err)
				}
			}
			cpu := nice.ProcessCPU() - cpu0
			b.StopTimer()
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/append")
		})
	}
}

// smallExt4 mounts a new ext4 file system of the given size on a temporary
// directory (a loop device) and returns its path; it is unmounted when the
// test ends. It needs root and mkfs.ext4: without them the test is skipped,
// or fails when CI=true (CI runs as root).
func smallExt4(t *testing.T, size string) string {
	t.Helper()
	need := func(why string) {
		if os.Getenv("CI") == "true" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	if os.Geteuid() != 0 {
		need("this test mounts an ext4 image and needs root")
	}
	mkfs, err := exec.LookPath("mkfs.ext4")
	if err != nil {
		need("this test needs mkfs.ext4")
	}
	tmp := t.TempDir()
	img, dir := filepath.Join(tmp, "disk.img"), filepath.Join(tmp, "disk")
	if out, err := exec.Command("truncate", "-s", size, img).CombinedOutput(); err != nil {
		t.Fatalf("truncate: %v: %s", err, out)
	}
	if out, err := exec.Command(mkfs, "-q", "-F", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-o", "loop", img, dir).CombinedOutput(); err != nil {
		need(fmt.Sprintf("mount an ext4 image: %v: %s", err, out))
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// TestFullDiskWhileZeroing: the disk fills while a segment is being zeroed
// ahead of the appends (a real ext4 file system, the node's log layer).
// The appends into that segment go on (its blocks were reserved), the zeros
// still reach past them, the rotation into a new segment fails and takes
// the log out of service as before, and once there is room again the log is
// reopened with every stored entry and takes appends.
func TestFullDiskWhileZeroing(t *testing.T) {
	dir := smallExt4(t, "160M")
	walDir := filepath.Join(dir, "wal")
	if err := os.Mkdir(walDir, 0o700); err != nil {
		t.Fatal(err)
	}
	d, err := newDiskLog(walDir, dir, quietLogger(), nil) // no watcher: reopened by hand
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	const perEntry, perAppend = 16 << 10, 16
	next := uint64(1)
	appendOne := func() error {
		var batch []*raft.Log
		for range perAppend {
			data := bytes.Repeat([]byte{byte(next%251 + 1)}, perEntry)
			batch = append(batch, &raft.Log{Index: next, Term: 1, Type: raft.LogCommand, Data: data})
			next++
		}
		err := d.StoreLogs(batch)
		if err != nil {
			next -= perAppend
		}
		return err
	}
	for range 8 { // 2 MiB: the zeroing has started
		if err := appendOne(); err != nil {
			t.Fatal(err)
		}
	}
	testkit.FillDisk(t, filepath.Join(dir, "filler"))
	segs, _ := filepath.Glob(filepath.Join(walDir, "*.wal"))
	if len(segs) != 1 {
		t.Fatalf("segment files %v, want one", segs)
	}
	for range 80 { // up to 22 MiB, a third of the segment
		if err := appendOne(); err != nil {
			t.Fatalf("an append into the preallocated segment on the full disk: %v", err)
		}
	}
	// The zeros reach up to 8 MiB past the appends (at about 22 MiB).
	seg, err := os.Open(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the zeros past the appends", func() bool {
		hole, err := seg.Seek(0, seekHole)
		return err == nil && hole >= 28<<20
	})
	_ = seg.Close()
	for {
		err := appendOne()
		if err == nil {
			continue
		}
		if !errors.Is(err, ErrDiskFault) {
			t.Fatalf("the append that needed a new segment on the full disk: %v", err)
		}
		break
	}
	stored := next - 1
	var l raft.Log
	if d.recent.get(stored+1, &l) {
		t.Fatalf("entry %d of the failed append is held in memory", stored+1)
	}
	if stored < 60<<20/perEntry {
		t.Fatalf("the log went out of service after %d entries, before the segment was full", stored)
	}
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	if err := d.reopen(); err != nil {
		t.Fatalf("reopen once there is room: %v", err)
	}
	if last, _ := d.LastIndex(); last != stored {
		t.Fatalf("the reopened log ends at %d, want %d", last, stored)
	}
	for i := uint64(1); i <= stored; i++ {
		var l raft.Log
		if err := d.GetLog(i, &l); err != nil || len(l.Data) != perEntry || l.Data[0] != byte(i%251+1) {
			t.Fatalf("entry %d after the reopen: %d bytes, %v", i, len(l.Data), err)
		}
	}
	if err := appendOne(); err != nil {
		t.Fatalf("an append after the reopen: %v", err)
	}
}
