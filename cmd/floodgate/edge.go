package main

import (
	"context"
	"errors"
)

func runEdge(ctx context.Context, args []string) error {
	return errors.New("edge is not available in this build yet")
}
