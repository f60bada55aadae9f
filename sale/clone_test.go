package sale

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

// refFields lists every field of a reference type (map, slice, pointer)
// reachable from State, as Type.Field paths, with what Clone does with it.
// A new one fails TestCloneSharesNothing until Clone handles it and it is
// listed here.
var refFields = map[string]string{
	"State.Drops": "copied", "State.last": "reset", "textArena.free": "reset",
	"State.Secret": "copied",
	"State.Nodes":  "copied", "State.Status": "copied", "StatusRecord.Value": "copied",
	"State.Events": "append-only", "feedChunkOf.ev": "append-only", "feedChunkOf.ctx": "the copy's own (shared)",
	"feedCtx.orders": "the copy's own", "feedCtx.tenants": "append-only", "feedCtx.whole": "append-only", "State.Sinks": "copied", "State.Tenants": "copied",
	"State.Keys": "copied", "State.Audit": "copied", "State.RevokedSessions": "copied",
	"table.chunks": "copied", "table.byNum": "copied", "table.byID": "copied", // State.Holds, State.Orders
	"TicketIndex.holds": "the copy's own", "TicketIndex.loaded": "copied",
	"hashSlots.slots": "copied (cloneIndex; State.custs: a copy rebuilds it)", "hashSlots.pending": "copied", "hashSlots.filter": "copied", "hashIndex.more": "copied",
	"customerIndex.recs": "a copy rebuilds it", "customerIndex.prev": "a copy rebuilds it",
	"customerIndex.orders": "a copy rebuilds it", "customerIndex.drops": "a copy rebuilds it",
	"DropSpec.Vouchers": "copied", "FairSpec.PresaleCustomers": "copied", "FairSpec.PresaleCodes": "copied",
	"CustomerCounts.all": "copied", "ActiveHolds.list": "copied", "Drop.Unpaid": "copied",
	"Drop.Batches": "copied", "Drop.Gaps": "copied",
	"DropFair.ShuffleSeed": "copied", "DropFair.Log": "append-only",
	"logChunkOf.recs": "append-only", "logChunkOf.ctx": "the copy's own (shared)", "logCtx.orders": "the copy's own", "logCtx.whole": "append-only",
	"DropFair.Heads":   "copied",
	"DropFair.Entries": "copied", "DropFair.EntryIndex": "copied", "DropFair.PresaleUsed": "copied",
	"DropFair.Notified":   "copied",
	"DropEarly.EarlyGaps": "copied", "DropEarly.EarlySkip": "copied",
	"DropStats.Refusals": "copied", "DropStats.Timeline": "copied",
}

func refPaths(t reflect.Type, seen map[reflect.Type]bool, out map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return
	}
	seen[t] = true
	name := t.Name()
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i] // slab[Hold] → slab
	}
	for i := range t.NumField() {
		f := t.Field(i)
		switch f.Type.Kind() {
		case reflect.Map, reflect.Slice, reflect.Pointer, reflect.Interface, reflect.Chan, reflect.Func:
			out[name+"."+f.Name] = true
		}
		refPaths(f.Type, seen, out)
	}
}

// TestCloneSharesNothing makes sure Clone knows every field of a reference
// type in the state: one it does not copy would be shared between a
// snapshot being written and the state applying commands.
func TestCloneSharesNothing(t *testing.T) {
	got := map[string]bool{}
	refPaths(reflect.TypeOf(State{}), map[reflect.Type]bool{}, got)
	var missing, stale []string
	for p := range got {
		if _, ok := refFields[p]; !ok {
			missing = append(missing, p)
		}
	}
	for p := range refFields {
		if !got[p] {
			stale = append(stale, p)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("fields of a reference type that State.Clone (sale/clone.go) may share with the live state: %v; copy them in Clone and list them in refFields", missing)
	}
	if len(stale) > 0 {
		t.Errorf("refFields lists fields that no longer exist: %v", stale)
	}
}

// TestCloneIsASnapshot clones random states at random points, applies more
// commands to the original, and checks that each copy still encodes to the
// bytes the original had when it was taken, and keeps every invariant. Under
// -race, a copy is also encoded while the original applies commands.
func TestCloneIsASnapshot(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 10
	}
	for seed := range uint64(seeds) {
		log, _, _ := run(t, 1000+seed, 400)
		r := rand.New(rand.NewPCG(seed, 7))
		s := NewState()
		type taken struct {
			c    *State
			want []byte
		}
		var copies []taken
		apply := func(buf []byte) {
			if c, err := DecodeCommand(buf); err == nil {
				s.Apply(&c)
			}
		}
		for i := 0; i < len(log); i++ {
			apply(log[i])
			if r.IntN(40) != 0 && i != len(log)/2 {
				continue
			}
			want, err := s.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			c := s.Clone()
			done := make(chan []byte)
			go func() {
				got, _ := c.Marshal()
				done <- got
			}()
			// The original moves on while the copy is encoded.
			for range 5 {
				if i+1 < len(log) {
					i++
					apply(log[i])
				}
			}
			if got := <-done; !bytes.Equal(got, want) {
				t.Fatalf("seed %d, step %d: a copy encodes differently from the state it was taken from", seed, i)
			}
			copies = append(copies, taken{c, want})
		}
		for _, tk := range copies {
			got, err := tk.c.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tk.want) {
				t.Fatalf("seed %d: a copy changed when the original applied later commands", seed)
			}
			if err := tk.c.Check(); err != nil {
				t.Fatalf("seed %d: a copy breaks an invariant: %v", seed, err)
			}
			// Applying to a copy must not touch the original either.
			before, _ := s.Marshal()
			for _, buf := range slices.Clone(log[len(log)-20:]) {
				if c, err := DecodeCommand(buf); err == nil {
					tk.c.Apply(&c)
				}
			}
			if after, _ := s.Marshal(); !bytes.Equal(before, after) {
				t.Fatalf("seed %d: applying to a copy changed the original", seed)
			}
		}
	}
}

// TestCloneWritesItsOwnText: the text of new holds and orders is cut from
// a chunk the state writes on (textArena). A copy that went on in the
// same chunk would write where the other's newer holds and orders keep
// their ids, visitors, customers and keys; each must keep its own.
func TestCloneWritesItsOwnText(t *testing.T) {
	s, now := rushOpen(t, "d", 100)
	buy := func(s *State, who string, seq int64) (string, string) {
		h := mustOK(t, s, holdCmd("d", who, seq, 1, now)).Hold
		o := mustOK(t, s, orderCmd(h.ID, who, who+"@example.com", "key-"+who, now)).Order
		return h.ID, o.ID
	}
	buy(s, "first-visitor", 0)
	c := s.Clone()
	type bought struct {
		st               *State
		who, hold, order string
	}
	var all []bought
	for i := range int64(20) {
		// The same lengths on both sides: a shared chunk would overlap exactly.
		who := fmt.Sprintf("orig-%03d", i)
		h, o := buy(s, who, 1+2*i)
		all = append(all, bought{s, who, h, o})
		who = fmt.Sprintf("copy-%03d", i)
		h, o = buy(c, who, 2+2*i)
		all = append(all, bought{c, who, h, o})
	}
	for _, b := range all {
		h, o := b.st.Holds.Get(b.hold), b.st.Orders.Get(b.order)
		if h == nil || o == nil || h.ID != b.hold || h.Visitor != b.who || o.ID != b.order || o.HoldID != b.hold ||
			o.Customer != b.who+"@example.com" || o.IdemKey != "key-"+b.who || b.st.Tickets.Get("d", b.who) != h {
			t.Fatalf("%s bought %s and %s; the state has %+v and %+v", b.who, b.hold, b.order, h, o)
		}
	}
	for _, st := range []*State{s, c} {
		if err := st.Check(); err != nil {
			t.Fatal(err)
		}
	}
}
