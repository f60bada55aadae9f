package main

import (
	"context"
	"errors"
)

func runCluster(ctx context.Context, args []string) error {
	return errors.New("cluster is not available in this build yet")
}
