package store

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"slices"

	"github.com/hashicorp/go-hclog"
)

// levelTrace is hclog's Trace in slog terms, below Debug.
const levelTrace = slog.LevelDebug - 4

// slogHC sends Raft's logs (hclog) to slog, so they carry the node id and
// every other attribute of the store's logger, in the process's format and
// at its LOG_LEVEL.
type slogHC struct {
	l    *slog.Logger
	name string
	args []any
}

var _ hclog.Logger = (*slogHC)(nil)

// hclogger returns an hclog.Logger that writes to l, naming the component.
func hclogger(l *slog.Logger, name string) hclog.Logger {
	return &slogHC{l: l.With("component", name), name: name}
}

// levels pairs hclog's levels with slog's, the most verbose first: toSlog
// reads it one way and GetLevel the other.
var levels = [...]struct {
	hc hclog.Level
	sl slog.Level
}{
	{hclog.Trace, levelTrace},
	{hclog.Debug, slog.LevelDebug},
	{hclog.Info, slog.LevelInfo},
	{hclog.Warn, slog.LevelWarn},
	{hclog.Error, slog.LevelError},
}

// toSlog is the slog level of an hclog level; Info for NoLevel.
func toSlog(level hclog.Level) slog.Level {
	for _, l := range levels {
		if l.hc == level {
			return l.sl
		}
	}
	return slog.LevelInfo
}

func (h *slogHC) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off {
		return
	}
	h.l.Log(context.Background(), toSlog(level), msg, formatArgs(args)...)
}

// formatArgs renders hclog.Fmt values (Raft logs its configuration with
// one), which slog would otherwise print as the raw format and arguments.
func formatArgs(args []any) []any {
	out := args
	for i, a := range args {
		f, ok := a.(hclog.Format)
		if !ok || len(f) == 0 {
			continue
		}
		if format, ok := f[0].(string); ok {
			if &out[0] == &args[0] {
				out = slices.Clone(args)
			}
			out[i] = fmt.Sprintf(format, f[1:]...)
		}
	}
	return out
}

func (h *slogHC) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *slogHC) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *slogHC) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *slogHC) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *slogHC) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *slogHC) enabled(l slog.Level) bool { return h.l.Enabled(context.Background(), l) }
func (h *slogHC) IsTrace() bool             { return h.enabled(levelTrace) }
func (h *slogHC) IsDebug() bool             { return h.enabled(slog.LevelDebug) }
func (h *slogHC) IsInfo() bool              { return h.enabled(slog.LevelInfo) }
func (h *slogHC) IsWarn() bool              { return h.enabled(slog.LevelWarn) }
func (h *slogHC) IsError() bool             { return h.enabled(slog.LevelError) }

func (h *slogHC) ImpliedArgs() []any { return h.args }

func (h *slogHC) With(args ...any) hclog.Logger {
	return &slogHC{l: h.l.With(args...), name: h.name, args: append(append([]any(nil), h.args...), args...)}
}

func (h *slogHC) Name() string { return h.name }

func (h *slogHC) Named(name string) hclog.Logger {
	if h.name != "" {
		name = h.name + "." + name
	}
	return h.ResetNamed(name)
}

func (h *slogHC) ResetNamed(name string) hclog.Logger {
	return &slogHC{l: h.l.With("component", name), name: name, args: h.args}
}

// SetLevel does nothing: the level is the process's (LOG_LEVEL).
func (h *slogHC) SetLevel(hclog.Level) {}

// GetLevel is the most verbose level the process's handler lets through.
func (h *slogHC) GetLevel() hclog.Level {
	for _, l := range levels {
		if h.enabled(l.sl) {
			return l.hc
		}
	}
	return hclog.Error
}

func (h *slogHC) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return slog.NewLogLogger(h.l.Handler(), slog.LevelInfo)
}

func (h *slogHC) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	return h.StandardLogger(opts).Writer()
}
