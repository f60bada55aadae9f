package sale

import "context"

// Replicated is what a service needs of the replicated sale state (package
// store): read the state, apply a command through the log, and whether this
// node leads. The services' own Store interfaces add what else they use.
type Replicated interface {
	Apply(ctx context.Context, c *Command) (Result, error)
	Read(fn func(st *State))
	IsLeader() bool
}
