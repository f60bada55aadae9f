// Package defaults fills the unset fields of a package's Config: one
// spelling of "zero means the default" for the services' constructors.
package defaults

import (
	"log/slog"
	"time"
)

// Number is what Positive fills: counts and durations.
type Number interface {
	~int | ~int64 | ~float64
}

// Positive sets *v to def when it is zero or negative.
func Positive[T Number](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Zero sets *v to def when it is the zero value (a negative number is kept).
func Zero[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Logging sets a nil logger to slog.Default() and a nil clock to time.Now.
func Logging(logger **slog.Logger, now *func() time.Time) {
	if *logger == nil {
		*logger = slog.Default()
	}
	Clock(now)
}

// Clock sets a nil clock to time.Now.
func Clock(now *func() time.Time) {
	if *now == nil {
		*now = time.Now
	}
}
