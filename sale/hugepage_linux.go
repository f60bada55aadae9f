package sale

import (
	"sync"
	"syscall"
	"unsafe"
)

// adviseHuge asks Linux to back a big array with huge pages (2 MiB, where
// the system lets a program ask: transparent_hugepage set to madvise or
// always). A look-up in a big hash index lands on a random page, and with
// 4 KiB pages each one misses the TLB as well as the cache; with huge ones
// the whole index fits the TLB, and filling it faults once per 2 MiB
// instead of once per 4 KiB. Only the 2 MiB blocks wholly inside the array
// are affected; the memory stays the Go heap's, and a refusal changes
// nothing but the speed.
func adviseHuge(p unsafe.Pointer, size uintptr) {
	madviseWithin(p, size, 2<<20, syscall.MADV_HUGEPAGE)
}

// populate asks Linux to map the whole pages of a new array now, in one
// call (MADV_POPULATE_WRITE, Linux 5.14), rather than fault them in one at
// a time as they are first written. A refusal (an older kernel) changes
// nothing but the speed.
func populate(p unsafe.Pointer, size uintptr) {
	madviseWithin(p, size, 4096, madvPopulateWrite)
}

// populateSoon is populate done by a goroutine of its own, so that the
// caller goes on at once: a new chunk of a table is filled a record at a
// time, and the kernel maps its pages (about 3 µs each on a VM, a quarter
// of a rush's state machine) long before the records reach them, on
// another core where there is one. A page the caller writes first is
// mapped by that write, as without advice; mapping pages ahead changes
// no byte of them. While the goroutine is behind by populateQueue chunks,
// the caller maps the pages itself.
func populateSoon(p unsafe.Pointer, size uintptr) {
	populateStart.Do(func() {
		populateJobs = make(chan populateJob, populateQueue)
		go func() {
			for j := range populateJobs {
				populate(j.p, j.size)
				if j.done != nil {
					close(j.done)
				}
			}
		}()
	})
	select {
	case populateJobs <- populateJob{p: p, size: size}:
	default:
		populate(p, size)
	}
}

// populateJob is a chunk for populateSoon's goroutine; p keeps the chunk
// alive until its pages are mapped. done, if not nil, is closed then.
type populateJob struct {
	p    unsafe.Pointer
	size uintptr
	done chan struct{}
}

const populateQueue = 16

var (
	populateStart sync.Once
	populateJobs  chan populateJob
)

// madviseWithin gives advice for the blocks of align bytes (a power of
// two) that lie wholly inside the size bytes at p, if there are any; what
// the kernel answers changes nothing but the speed.
func madviseWithin(p unsafe.Pointer, size, align uintptr, advice int) {
	start := (uintptr(p) + align - 1) &^ (align - 1)
	end := (uintptr(p) + size) &^ (align - 1)
	if end <= start {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Add(p, start-uintptr(p))), end-start)
	_ = syscall.Madvise(b, advice)
}

// madvPopulateWrite is MADV_POPULATE_WRITE, which package syscall lacks.
const madvPopulateWrite = 23
