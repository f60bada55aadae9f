package sale

import (
	"bytes"
	"encoding/json"
	"iter"

	"github.com/floodgate/floodgate"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// feedChunk is how many events one chunk of the feed holds.
const feedChunk = 4096

// EventFeed is the order feed (State.Events): the events in seq order, in
// chunks, so that appending one never copies the others (a slice that
// doubles copies a large feed again and again) and a snapshot's copy can
// share the chunks (Clone): no event already in the feed is ever written
// again. Empty chunks are never kept, so an empty feed is an empty slice
// (and left out of a snapshot). Snapshots write it as before: one JSON
// array of Event.
//
// An event does not keep a copy of its order (168 bytes and nine strings
// per buyer for the collector to follow): a FeedEntry keeps the order's
// index and what of it changes after it is made (status, paid_at,
// ended_at, seq, log_seq), with no pointer at all; the rest is the
// order's own, which never changes. Events read from a snapshot that say
// something else (written by code that kept other fields) are kept whole.
type EventFeed []feedChunkOf

type feedChunkOf struct {
	ev  []FeedEntry
	ctx *feedCtx // the same for every chunk of a feed
}

// feedCtx is what turns entries back into events: the state's orders, the
// tenants the entries name, and the events kept whole.
type feedCtx struct {
	orders  *OrderTable
	tenants []string  // tenants[0] is ""
	whole   [][]Event // entry.order -1-k is the k-th, in chunks of feedChunk
}

// FeedEntry is one event of the feed as the state keeps it.
type FeedEntry struct {
	Seq     uint64
	At      int64
	paidAt  int64
	endedAt int64
	logSeq  int64
	order   int32 // index in the state's orders; -1-k: kept whole, feedCtx.whole[k]
	tenant  uint16
	typ     uint8
	status  uint8
}

var (
	eventTypes    = []string{floodgate.OrderEventCreated, floodgate.OrderEventPaid, floodgate.OrderEventExpired, floodgate.OrderEventCancelled}
	orderStatuses = []string{floodgate.OrderAwaitingPayment, floodgate.OrderPaid, floodgate.OrderExpired, floodgate.OrderCancelled}
)

func indexOf(names []string, s string) int {
	for i, n := range names {
		if n == s {
			return i
		}
	}
	return -1
}

// Len is the number of events.
func (f EventFeed) Len() int {
	n := 0
	for _, ch := range f {
		n += len(ch.ev)
	}
	return n
}

// First returns the oldest event's entry (its Seq and At), or nil.
func (f EventFeed) First() *FeedEntry {
	if len(f) == 0 {
		return nil
	}
	return &f[0].ev[0]
}

// event is the Event entry e stands for.
func (x *feedCtx) event(e *FeedEntry) Event {
	if e.order < 0 {
		k := int(-1 - e.order)
		return *chunksAt(x.whole, k, feedChunk)
	}
	o := *x.orders.at(int(e.order))
	o.Status, o.PaidAt, o.EndedAt, o.Seq, o.LogSeq = orderStatuses[e.status], e.paidAt, e.endedAt, e.Seq, e.logSeq
	return Event{Seq: e.Seq, Type: eventTypes[e.typ], At: e.At, Order: o, Tenant: x.tenants[e.tenant]}
}

// All yields the events, oldest first.
func (f EventFeed) All() iter.Seq2[int, Event] {
	return func(yield func(int, Event) bool) {
		i := 0
		for _, ch := range f {
			for k := range ch.ev {
				if !yield(i, ch.ctx.event(&ch.ev[k])) {
					return
				}
				i++
			}
		}
	}
}

// entries yields the entries, oldest first.
func (f EventFeed) entries() iter.Seq[*FeedEntry] {
	return func(yield func(*FeedEntry) bool) {
		for _, ch := range f {
			for k := range ch.ev {
				if !yield(&ch.ev[k]) {
					return
				}
			}
		}
	}
}

// from yields the events from the i-th on.
func (f EventFeed) from(i int) iter.Seq[Event] {
	return func(yield func(Event) bool) {
		for _, ch := range f {
			if i >= len(ch.ev) {
				i -= len(ch.ev)
				continue
			}
			for k := i; k < len(ch.ev); k++ {
				if !yield(ch.ctx.event(&ch.ev[k])) {
					return
				}
			}
			i = 0
		}
	}
}

// ctx returns the feed's context, made for orders if the feed has none.
func (f *EventFeed) ctx(orders *OrderTable) *feedCtx {
	if len(*f) > 0 {
		return (*f)[0].ctx
	}
	return &feedCtx{orders: orders, tenants: []string{""}}
}

// add appends the event for order i, o, which has just changed.
func (f *EventFeed) add(orders *OrderTable, seq uint64, typ string, at int64, i int32, o *Order, tenant string) {
	x := f.ctx(orders)
	t := 0
	if tenant != "" {
		if t = indexOf(x.tenants, tenant); t < 0 {
			x.tenants = append(x.tenants, tenant)
			t = len(x.tenants) - 1
		}
	}
	ti, si := indexOf(eventTypes, typ), indexOf(orderStatuses, o.Status)
	e := FeedEntry{Seq: seq, At: at, paidAt: o.PaidAt, endedAt: o.EndedAt, logSeq: o.LogSeq, order: i,
		tenant: uint16(t), typ: uint8(ti), status: uint8(si)}
	if t >= 1<<16 || ti < 0 || si < 0 || x.orders != orders {
		e.order = x.keep(Event{Seq: seq, Type: typ, At: at, Order: *o, Tenant: tenant})
	}
	f.addEntry(x, e)
}

// keep keeps e whole and returns the order field of its entry.
func (x *feedCtx) keep(e Event) int32 {
	x.whole = chunksAppend(x.whole, e, feedChunk)
	return int32(-chunksLen(x.whole, feedChunk))
}

func (f *EventFeed) addEntry(x *feedCtx, e FeedEntry) {
	if n := len(*f); n == 0 || len((*f)[n-1].ev) == cap((*f)[n-1].ev) {
		*f = append(*f, feedChunkOf{ev: makeChunk[FeedEntry](0, feedChunk), ctx: x})
	}
	last := &(*f)[len(*f)-1]
	last.ev = append(last.ev, e)
}

// drop returns the feed without its n oldest events; f is not changed.
func (f EventFeed) drop(n int) EventFeed {
	var out EventFeed
	for _, ch := range f {
		if n >= len(ch.ev) {
			n -= len(ch.ev)
			continue
		}
		out = append(out, feedChunkOf{ev: ch.ev[n:], ctx: ch.ctx})
		n = 0
	}
	return out
}

// shared returns a copy of f, for a copy of the state whose orders are
// orders, that shares its entries: each chunk's capacity is cut to its
// length, so appending to f never writes where the copy looks. The copy
// has a context of its own.
func (f EventFeed) shared(orders *OrderTable) EventFeed {
	if f == nil {
		return nil
	}
	out := make(EventFeed, len(f))
	var x *feedCtx
	if len(f) > 0 {
		old := f[0].ctx
		x = &feedCtx{orders: orders, tenants: old.tenants[:len(old.tenants):len(old.tenants)],
			whole: chunksShared(old.whole)} // append-only too
	}
	for i, ch := range f {
		out[i] = feedChunkOf{ev: ch.ev[:len(ch.ev):len(ch.ev)], ctx: x}
	}
	return out
}

// restore makes the events read from a snapshot entries of the orders
// where they say what the order says, keeping the others whole.
func (f EventFeed) restore(orders *OrderTable) {
	if len(f) == 0 {
		return
	}
	x := f[0].ctx
	x.orders = orders
	kept := 0
	for _, ch := range f {
		for k := range ch.ev {
			e := &ch.ev[k]
			if e.order >= 0 {
				continue
			}
			kept++
			whole := x.event(e)
			i := orders.find(whole.Order.ID)
			if i < 0 {
				continue
			}
			t := indexOf(x.tenants, whole.Tenant)
			if t < 0 && len(x.tenants) < 1<<16 {
				x.tenants = append(x.tenants, whole.Tenant)
				t = len(x.tenants) - 1
			}
			typ, st := indexOf(eventTypes, whole.Type), indexOf(orderStatuses, whole.Order.Status)
			if t < 0 || typ < 0 || st < 0 {
				continue
			}
			c := FeedEntry{Seq: e.Seq, At: e.At, paidAt: whole.Order.PaidAt, endedAt: whole.Order.EndedAt, logSeq: whole.Order.LogSeq,
				order: int32(i), tenant: uint16(t), typ: uint8(typ), status: uint8(st)}
			if x.event(&c) == whole {
				*e = c
				kept--
			}
		}
	}
	if kept == 0 {
		x.whole = nil
	}
}

// MarshalJSON writes the events as one array, as encoding/json wrote the
// slice this replaced.
func (f EventFeed) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := f.writeJSON(&buf, json.NewEncoder(&buf)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (f *EventFeed) writeJSON(buf *bytes.Buffer, enc *json.Encoder) error {
	return writeEachJSON(buf, enc, *f == nil, f.All())
}

// UnmarshalJSON reads what MarshalJSON (or encoding/json, from the slice
// this replaced) wrote.
func (f *EventFeed) UnmarshalJSON(b []byte) error {
	return f.UnmarshalJSONFrom(jsontext.NewDecoder(bytes.NewReader(b), jsonv1.DefaultOptionsV1()))
}

// UnmarshalJSONFrom is UnmarshalJSON reading from the snapshot's decoder.
// The events are kept whole until the state's restore finds their orders.
func (f *EventFeed) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	var next EventFeed
	x := &feedCtx{tenants: []string{""}}
	if err := readChunksFrom(dec, func(e Event) {
		next.addEntry(x, FeedEntry{Seq: e.Seq, At: e.At, order: x.keep(e)})
	}); err != nil {
		return err
	}
	*f = next
	return nil
}
