//go:build !linux

package sale

import "unsafe"

// adviseHuge does nothing where huge pages cannot be asked for.
func adviseHuge(unsafe.Pointer, uintptr) {}
