package main

import (
	"context"
	"errors"
)

func runRush(ctx context.Context, args []string) error {
	return errors.New("rush is not available in this build yet")
}
