package sink

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/floodgate/floodgate/sale"
	"github.com/floodgate/floodgate/status"
)

// EventIDHeader carries an event's seq on every webhook, so a receiver can
// drop the repeats that at-least-once delivery may send.
const EventIDHeader = "Floodgate-Event-Id"

// webhookSink posts one event per request, signed like the status webhooks
// (status.Sign), in seq order.
type webhookSink struct {
	url     string
	secret  string
	client  *http.Client
	timeout time.Duration
	now     func() time.Time
}

func (w *webhookSink) prepare(context.Context) error { return nil }

func (w *webhookSink) close() {}

// batch: webhooks go one by one; commit the cursor every 20.
func (w *webhookSink) batch() int { return 20 }

func (w *webhookSink) deliver(ctx context.Context, events []sale.Event) (int, error) {
	for i := range events {
		if err := w.post(ctx, &events[i]); err != nil {
			return i, err
		}
	}
	return len(events), nil
}

func (w *webhookSink) post(ctx context.Context, e *sale.Event) error {
	body, err := marshalEvent(e)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Floodgate-Sink/1")
	req.Header.Set(status.SignatureHeader, status.Sign(w.secret, w.now(), body))
	req.Header.Set(EventIDHeader, strconv.FormatUint(e.Seq, 10))
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return statusError(resp.StatusCode, msg)
	}
	return nil
}
