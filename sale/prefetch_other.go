//go:build !amd64

package sale

func prefetch(uintptr) {}
