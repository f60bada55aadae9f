package fairness

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/floodgate/floodgate/internal/defaults"
	"github.com/floodgate/floodgate/internal/ticker"
	"github.com/floodgate/floodgate/sale"
	"github.com/floodgate/floodgate/status"
)

// NotifierStore is what the notifier needs from the replicated store.
type NotifierStore = sale.Replicated

// Mailer sends messages to buyers (status.Service).
type Mailer interface {
	NotifyBuyers(msgs []status.BuyerMessage) error
}

// Notifier tells draw entrants their result by email through the status
// page's channels: drawn, backup, not drawn, or claim time over. On the
// leader, it compares each entrant's state with the last one told (kept in
// the replicated state by DrawNotified commands) and sends what changed, so
// each result is told once, across restarts and leader changes (at least
// once: a leader lost between the send and the record sends it again).
type Notifier struct {
	Store    NotifierStore
	Mailer   Mailer
	BaseURL  string        // public base URL of the buyer pages, for the link; may be empty
	Interval time.Duration // 2 s by default
	Logger   *slog.Logger
	Now      func() time.Time

	// done holds closed draws whose every result was told: results of a
	// closed drop do not change, so they are not scanned again.
	done map[string]bool
}

// notifyStates are the results worth an email.
var notifyStates = map[string]bool{sale.EntryWon: true, sale.EntryLost: true, sale.EntryBackup: true, sale.EntryExpired: true}

// Run sends notices until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	defaults.Positive(&n.Interval, 2*time.Second)
	defaults.Logging(&n.Logger, &n.Now)
	ticker.Every(ctx, n.Interval, func(ctx context.Context) {
		if !n.Store.IsLeader() {
			return
		}
		if err := n.Once(ctx); err != nil {
			n.Logger.Warn("draw notices", "err", err)
		}
	})
}

type pending struct {
	drop, name, state, customer string
	st                          sale.EntryStatus
}

// Once sends the notices due now.
func (n *Notifier) Once(ctx context.Context) error {
	defaults.Clock(&n.Now)
	if n.done == nil {
		n.done = map[string]bool{}
	}
	now := n.Now()
	var (
		due    []pending
		closed []string
	)
	n.Store.Read(func(st *sale.State) {
		for id, d := range st.Drops {
			if !d.IsDraw() || !d.Started || n.done[id] {
				continue
			}
			if d.Closed {
				closed = append(closed, id)
			}
			for _, e := range d.Entries {
				es, ok := st.EntryOf(id, e.Customer, now.UnixMilli())
				if !ok || !notifyStates[es.State] || d.Notified[e.Customer] == es.State {
					continue
				}
				due = append(due, pending{drop: id, name: d.Spec.Name, state: es.State, customer: e.Customer, st: es})
				if len(due) >= sale.MaxNotifiedBatch {
					return
				}
			}
		}
	})
	for _, id := range closed {
		clean := true
		for _, p := range due {
			clean = clean && p.drop != id
		}
		if clean && len(due) < sale.MaxNotifiedBatch {
			n.done[id] = true
		}
	}
	if len(due) == 0 {
		return nil
	}
	sort.Slice(due, func(i, j int) bool {
		if due[i].drop != due[j].drop {
			return due[i].drop < due[j].drop
		}
		return due[i].state < due[j].state
	})
	for start := 0; start < len(due); {
		end := start
		for end < len(due) && due[end].drop == due[start].drop && due[end].state == due[start].state {
			end++
		}
		group := due[start:end]
		msgs := make([]status.BuyerMessage, 0, len(group))
		customers := make([]string, 0, len(group))
		for _, p := range group {
			customers = append(customers, p.customer)
			if strings.Contains(p.customer, "@") {
				msgs = append(msgs, n.message(p))
			}
		}
		if err := n.Mailer.NotifyBuyers(msgs); err != nil {
			return err
		}
		if _, err := n.Store.Apply(ctx, &sale.Command{Kind: sale.KindDrawNotified, Now: now.UnixMilli(), Drop: group[0].drop, Code: group[0].state, Customers: customers}); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// message is the email of one result, in Korean and English.
func (n *Notifier) message(p pending) status.BuyerMessage {
	link := ""
	if n.BaseURL != "" {
		link = strings.TrimRight(n.BaseURL, "/") + "/d/" + url.PathEscape(p.drop)
	}
	var subject, ko, en string
	switch p.state {
	case sale.EntryWon:
		by := sale.Time(p.st.ClaimBy).Format("2006-01-02 15:04 MST")
		subject = "당첨 · You won: " + p.name
		ko = fmt.Sprintf("%s 추첨에 당첨되었습니다(응모 %d명 중 %d순위). %s까지 구매해 주세요.", p.name, p.st.Entries, p.st.Rank, by)
		en = fmt.Sprintf("You were drawn for %s (rank %d of %d). Claim your item before %s.", p.name, p.st.Rank, p.st.Entries, by)
	case sale.EntryBackup:
		subject = "예비 당첨 · You are a backup: " + p.name
		ko = fmt.Sprintf("%s 추첨의 예비 %d순위입니다. 당첨자가 구매하지 않으면 순서대로 기회가 넘어옵니다.", p.name, p.st.Rank)
		en = fmt.Sprintf("You are backup rank %d for %s. If a winner does not claim, the item passes to backups in order.", p.st.Rank, p.name)
	case sale.EntryLost:
		subject = "미당첨 · Not drawn: " + p.name
		ko = fmt.Sprintf("아쉽게도 %s 추첨에 당첨되지 않았습니다. 응모해 주셔서 감사합니다.", p.name)
		en = fmt.Sprintf("You were not drawn for %s this time. Thank you for entering.", p.name)
	case sale.EntryExpired:
		subject = "구매 기한 종료 · Claim time over: " + p.name
		ko = fmt.Sprintf("%s 당첨 상품의 구매 기한이 지나 다음 순위로 넘어갔습니다.", p.name)
		en = fmt.Sprintf("Your time to claim %s ran out, so the item went to the next in line.", p.name)
	}
	text := ko + "\n" + en + "\n"
	if link != "" {
		text += "\n" + link + "\n"
	}
	return status.BuyerMessage{Buyer: status.Buyer{Customer: p.customer, Email: p.customer}, Subject: subject, Text: text, SMS: ko + " " + en}
}
