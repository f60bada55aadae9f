package queue

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// TestWaitKeys: WaitKeys gives up when its context ends before the cluster
// secret is written, and returns the keys once the leader's queue wrote it.
func TestWaitKeys(t *testing.T) {
	st := openStore(t)
	q := New(Config{Store: st, SignAhead: 64, TickInterval: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	short, stop := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer stop()
	if _, err := q.WaitKeys(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitKeys before the secret is written: %v; want the context's deadline", err)
	}
	testkit.Background(t, q.Run)
	wait, stopWait := context.WithTimeout(context.Background(), 20*time.Second)
	defer stopWait()
	keys, err := q.WaitKeys(wait)
	if err != nil {
		t.Fatalf("WaitKeys with a leader running the queue: %v", err)
	}
	if again, _, _ := q.Keys(); !bytes.Equal(keys.SessionKey, again.SessionKey) || len(keys.SessionKey) == 0 {
		t.Fatal("WaitKeys returned other keys than Keys")
	}
}
