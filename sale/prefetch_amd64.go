package sale

// prefetch asks the processor to bring the cache line at p into its cache
// without waiting for it: a hint, which never faults, whatever p is.
//
//go:noescape
func prefetch(p uintptr)
