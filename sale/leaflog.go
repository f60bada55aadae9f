package sale

import (
	"bytes"
	"encoding/json"
	"iter"
	"slices"

	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// logChunk is how many records a full chunk of a drop's log holds.
const logChunk = 4096

// LeafLog is a drop's transparency log (DropFair.Log): its records in
// order, in chunks, so that appending one never copies the others (a
// slice that doubles copied a rush's log of a record per order again and
// again) and a copy (Clone) shares the chunks: no record already in the
// log is ever written again. Every chunk but the last holds logChunk
// records, so record i is found at once; the first grows by doubling, so
// a small drop's log stays small. An empty log has no chunk (and is left
// out of a snapshot). Snapshots write it as before: one JSON array of
// LogRecord.
//
// A record is not kept as a LogRecord, whose two strings (the type, and
// an order's id: a record per buyer) the collector follows on every
// cycle: a leafRec keeps the type as a code and an order's record the
// order's index in the state's orders, with no pointer at all. Records
// that do not fit (a draw entry, which names its customer, a type this
// code does not know, an order no order of the state has) are kept whole.
type LeafLog []logChunkOf

type logChunkOf struct {
	recs []leafRec
	ctx  *logCtx // the same for every chunk of a log
}

// logCtx is what turns a log's entries back into records: the state's
// orders and the records kept whole.
type logCtx struct {
	orders *OrderTable
	whole  [][]LogRecord // leafRec.ref -1-k is the k-th, in chunks of logChunk
}

// leafRec is one record of a log as the state keeps it.
type leafRec struct {
	at   int64
	from int64
	to   int64
	ref  int32 // order: index in the state's orders; -1-k: kept whole, logCtx.whole[k]
	typ  uint8
	gap  bool
}

// leafTypes are the types a leafRec's code names.
var leafTypes = []string{LeafStart, LeafAdmit, LeafEntry, LeafOrder, LeafClose}

const leafOrderCode = 3 // indexOf(leafTypes, LeafOrder)

// record is the LogRecord e stands for.
func (x *logCtx) record(e *leafRec) LogRecord {
	if e.ref < 0 {
		return *chunksAt(x.whole, int(-1-e.ref), logChunk)
	}
	r := LogRecord{Type: leafTypes[e.typ], At: e.at, From: e.from, To: e.to, Gap: e.gap}
	if e.typ == leafOrderCode {
		r.Ref = x.orders.at(int(e.ref)).ID
	}
	return r
}

// fit returns the entry for r, false if r does not fit one: a record with
// a customer or an unknown type, or an order's record whose order x does
// not find.
func (x *logCtx) fit(r *LogRecord) (leafRec, bool) {
	e := leafRec{at: r.At, from: r.From, to: r.To, gap: r.Gap}
	t := indexOf(leafTypes, r.Type)
	switch {
	case t < 0 || t == leafOrderCode && x.orders == nil:
		return e, false
	case t == leafOrderCode:
		i := x.orders.find(r.Ref)
		if i < 0 {
			return e, false
		}
		e.ref = int32(i)
	case r.Ref != "":
		return e, false
	}
	e.typ = uint8(t)
	return e, true
}

// keep keeps r whole and returns the ref of its entry.
func (x *logCtx) keep(r LogRecord) int32 {
	x.whole = chunksAppend(x.whole, r, logChunk)
	return int32(-chunksLen(x.whole, logChunk))
}

// Len is the number of records.
func (l LeafLog) Len() int {
	if len(l) == 0 {
		return 0
	}
	return (len(l)-1)*logChunk + len(l[len(l)-1].recs)
}

// At returns record i (0 ≤ i < Len).
func (l LeafLog) At(i int) LogRecord {
	ch := &l[i/logChunk]
	return ch.ctx.record(&ch.recs[i%logChunk])
}

// All yields the records, oldest first.
func (l LeafLog) All() iter.Seq2[int, LogRecord] {
	return func(yield func(int, LogRecord) bool) {
		for i := range l.Len() {
			if !yield(i, l.At(i)) {
				return
			}
		}
	}
}

// ctx returns the log's context, made if the log has none.
func (l LeafLog) ctx() *logCtx {
	if len(l) > 0 {
		return l[0].ctx
	}
	return &logCtx{}
}

// add appends r, which is not an order's (addOrder).
func (l *LeafLog) add(r LogRecord) {
	x := l.ctx()
	e, ok := x.fit(&r)
	if !ok {
		e.ref = x.keep(r)
	}
	l.put(x, e)
}

// addOrder appends the record of order i of orders, the state's, made at.
func (l *LeafLog) addOrder(orders *OrderTable, i int32, at int64) {
	x := l.ctx()
	if x.orders == nil {
		x.orders = orders
	}
	e := leafRec{at: at, ref: i, typ: leafOrderCode}
	if x.orders != orders {
		e.ref = x.keep(LogRecord{Type: LeafOrder, At: at, Ref: orders.at(int(i)).ID})
	}
	l.put(x, e)
}

// put appends e, an entry of x.
func (l *LeafLog) put(x *logCtx, e leafRec) {
	n := len(*l)
	var last []leafRec
	if n > 0 {
		last = (*l)[n-1].recs
	}
	ch, fresh := chunkRoom(last, n == 0, logChunk)
	ch = append(ch, e)
	if fresh {
		*l = append(*l, logChunkOf{recs: ch, ctx: x})
	} else {
		(*l)[n-1].recs = ch
	}
}

// shared returns a copy of l, for a copy of the state whose orders are
// orders, that shares its records: each chunk's capacity is cut to its
// length, so appending to l never writes where the copy looks. The copy
// has a context of its own.
func (l LeafLog) shared(orders *OrderTable) LeafLog {
	if len(l) == 0 {
		return l
	}
	x := &logCtx{orders: orders, whole: chunksShared(l[0].ctx.whole)} // append-only too
	out := slices.Clone(l)
	for i := range out {
		out[i].recs, out[i].ctx = slices.Clip(out[i].recs), x
	}
	return out
}

// restore makes the order records read from a snapshot entries of the
// orders where the orders have them, keeping the others whole.
func (l LeafLog) restore(orders *OrderTable) {
	if len(l) == 0 {
		return
	}
	x := l[0].ctx
	old := x.whole
	x.orders, x.whole = orders, nil
	for _, ch := range l {
		for k := range ch.recs {
			e := &ch.recs[k]
			if e.ref >= 0 {
				continue
			}
			r := *chunksAt(old, int(-1-e.ref), logChunk)
			if c, ok := x.fit(&r); ok {
				*e = c
			} else {
				e.ref = x.keep(r)
			}
		}
	}
}

// MarshalJSON writes the records as one array, as encoding/json wrote the
// slice this replaced.
func (l LeafLog) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := l.writeJSON(&buf, json.NewEncoder(&buf)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (l *LeafLog) writeJSON(buf *bytes.Buffer, enc *json.Encoder) error {
	return writeEachJSON(buf, enc, *l == nil, l.All())
}

// UnmarshalJSON reads what MarshalJSON (or encoding/json, from the slice
// this replaced) wrote.
func (l *LeafLog) UnmarshalJSON(b []byte) error {
	return l.UnmarshalJSONFrom(jsontext.NewDecoder(bytes.NewReader(b), jsonv1.DefaultOptionsV1()))
}

// UnmarshalJSONFrom is UnmarshalJSON reading from the snapshot's decoder.
// Order records are kept whole until the state's restore finds their
// orders.
func (l *LeafLog) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	var next LeafLog
	if err := readChunksFrom(dec, next.add); err != nil {
		return err
	}
	*l = next
	return nil
}
