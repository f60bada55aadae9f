//go:build !linux

package sale

import "unsafe"

// adviseHuge does nothing where huge pages cannot be asked for.
func adviseHuge(unsafe.Pointer, uintptr) {}

// populate does nothing where pages cannot be mapped ahead.
func populate(unsafe.Pointer, uintptr) {}

// populateSoon does nothing where pages cannot be mapped ahead.
func populateSoon(unsafe.Pointer, uintptr) {}
