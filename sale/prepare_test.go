package sale

import (
	"bytes"
	"testing"
)

// TestPrepareReadsTheKeysApplyLooksUp: Prepare loads the slots of the
// hashes Apply probes first, the ticket of each hold and the customer of
// each order, in the batch's order, and passes over everything else.
func TestPrepareReadsTheKeysApplyLooksUp(t *testing.T) {
	cmds := []Command{
		holdCmd("d", "visitor-1", 1, 1, t0),
		{Kind: KindTick, Now: t0},
		orderCmd("h_1_visitor-", "visitor-1", "one@example.com", "k1", t0),
		{Kind: KindRelease, Now: t0, HoldID: "h_2_x", Visitor: "x"},
		holdCmd("other-drop", "visitor-2", 2, 1, t0),
		orderCmd("h_9_y", "y", "", "k2", t0),
		holdCmd("d", "visitor-\u00e9", 3, 1, t0),
	}
	var enc [][]byte
	for i := range cmds {
		enc = append(enc, AppendCommand(nil, &cmds[i]))
	}
	enc = append(enc, []byte{byte(KindHold)}, []byte{byte(KindOrder), 0, 9}) // cut short
	var a readAhead
	a.read(AppendBatch(nil, enc))
	wantT := []uint64{ticketHash("d", "visitor-1"), ticketHash("other-drop", "visitor-2"), ticketHash("d", "visitor-\u00e9")}
	wantC := []uint64{customerHash("one@example.com"), customerHash("")}
	if a.nt != len(wantT) || a.nc != len(wantC) {
		t.Fatalf("read %d tickets and %d customers, want %d and %d", a.nt, a.nc, len(wantT), len(wantC))
	}
	for i, h := range wantT {
		if a.tickets[i] != h {
			t.Fatalf("ticket %d: hash %x, want %x", i, a.tickets[i], h)
		}
	}
	for i, h := range wantC {
		if a.customers[i] != h {
			t.Fatalf("customer %d: hash %x, want %x", i, a.customers[i], h)
		}
	}
}

// TestPrepareChangesNothing: a state that read a batch ahead encodes to
// the bytes it had before; the property test's replay prepares every
// batch and must reach the state and results of applying without.
func TestPrepareChangesNothing(t *testing.T) {
	s := fuzzState(t)
	s.customers()
	before, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var enc [][]byte
	for _, c := range sampleCommands() {
		enc = append(enc, AppendCommand(nil, &c))
	}
	for _, b := range [][]byte{AppendBatch(nil, enc), nil, {0xff}, {3, 1, 3, 1, 3}} {
		s.Prepare(b)
	}
	after, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("Prepare changed the state")
	}
}
