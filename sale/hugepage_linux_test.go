package sale

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// TestNewChunkIsMapped checks that the pages of a big new chunk are mapped
// (resident, as mincore reports) once populateSoon's goroutine has had
// them, though nothing wrote to them, and that they still read as zero.
func TestNewChunkIsMapped(t *testing.T) {
	probe := make([]byte, 64<<10)
	page := int(-uintptr(unsafe.Pointer(&probe[0])) & 4095) // the first whole page
	if err := syscall.Madvise(probe[page:page+4096], madvPopulateWrite); err != nil {
		t.Skipf("this kernel does not map pages ahead: %v", err)
	}
	ch := makeChunk[Hold](0, chunkLen)
	done := make(chan struct{})
	populateJobs <- populateJob{done: done} // behind the chunk's job
	<-done
	all := ch[:cap(ch)]
	start := (uintptr(unsafe.Pointer(&all[0])) + 4095) &^ 4095
	end := uintptr(unsafe.Pointer(&all[len(all)-1])) &^ 4095
	vec := make([]byte, (end-start)/4096)
	if _, _, errno := syscall.Syscall(syscall.SYS_MINCORE, start, end-start, uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Skipf("mincore: %v", errno)
	}
	for i, v := range vec {
		if v&1 == 0 {
			t.Fatalf("page %d of the chunk's %d is not mapped", i, len(vec))
		}
	}
	for i := range all {
		if all[i] != (Hold{}) {
			t.Fatalf("hold %d of the new chunk is %+v, not zero", i, all[i])
		}
	}
}

// TestBigIndexAsksForHugePages checks that a hash index of a million
// entries asks Linux for huge pages (its mapping is marked "hg" in
// /proc/self/smaps) and answers as one that did not: every entry found.
func TestBigIndexAsksForHugePages(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skip("this kernel has no transparent huge pages")
	}
	const n = 1 << 20
	x := makeHashSlots(n)
	for i := range int32(n) {
		x.insert(uint64(i)*fnvPrime, i)
	}
	size := uintptr(len(x.slots)) * unsafe.Sizeof(hashSlot{})
	if size < hugeMin {
		t.Fatalf("%d slots are %d bytes, under hugeMin", len(x.slots), size)
	}
	// A 2 MiB block inside the array: its mapping is the one advised.
	at := (uintptr(unsafe.Pointer(&x.slots[0])) + 2<<20 - 1) &^ (2<<20 - 1)
	flags := vmFlags(t, at)
	if !strings.Contains(" "+flags+" ", " hg ") {
		t.Errorf("the mapping of the index's slots has flags %q, without hg", flags)
	}
	for i := range int32(n) {
		if got, ok := x.find(uint64(i)*fnvPrime, func(j int32) bool { return j == i }); !ok || got != i {
			t.Fatalf("entry %d not found", i)
		}
	}
}

// vmFlags returns the VmFlags of the mapping of this process at addr.
func vmFlags(t *testing.T, addr uintptr) string {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(fields[0], "-"); ok {
			a, err1 := strconv.ParseUint(lo, 16, 64)
			b, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 == nil && err2 == nil {
				in = uint64(addr) >= a && uint64(addr) < b
				continue
			}
		}
		if rest, ok := strings.CutPrefix(line, "VmFlags:"); ok && in {
			return strings.TrimSpace(rest)
		}
	}
	t.Fatalf("no mapping at %#x in /proc/self/smaps", addr)
	return ""
}
