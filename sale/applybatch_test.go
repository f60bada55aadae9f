package sale

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/floodgate/floodgate"
)

// ApplyBatch must leave the state and give the answers that decoding each
// command and applying it would, whatever the batch holds: new and repeated
// holds and orders, orders for holds that do not exist, a command that
// cannot be decoded, and a batch cut short.
func TestApplyBatchAppliesAsOneByOne(t *testing.T) {
	var cmds [][]byte
	add := func(c Command) { cmds = append(cmds, AppendCommand(nil, &c)) }
	a, now := rushOpen(t, "d", 200)
	b, _ := rushOpen(t, "d", 200)
	for i := range 120 {
		v := "visitor-" + strconv.Itoa(i)
		add(Command{Kind: KindHold, Now: now, Drop: "d", Visitor: v, Seq: int64(i), Quantity: 1})
		if i%3 == 0 {
			add(Command{Kind: KindHold, Now: now, Drop: "d", Visitor: v, Seq: int64(i), Quantity: 1}) // again
		}
		hold := "h_" + strconv.FormatUint(uint64(i)+1, 36) + "_" + shortID(v)
		if i%5 == 0 {
			hold = "h_zz_nothing" // no such hold
		}
		if i%7 == 0 {
			cmds = append(cmds, []byte{0xff, 1, 2, 3}) // not a command
		}
		add(Command{Kind: KindOrder, Now: now, HoldID: hold, Visitor: v, Customer: v + "@example.com", IdemKey: v})
	}
	batch := AppendBatch(nil, cmds)

	type answer struct {
		i   int
		res Result
	}
	var got []answer
	n, err := a.ApplyBatch(batch, func(i int, res Result) { got = append(got, answer{i, res}) })
	if err != nil || n != len(cmds) || len(got) != len(cmds) {
		t.Fatalf("ApplyBatch: %d commands, %d answers, err %v; want %d, nil", n, len(got), err, len(cmds))
	}
	refused := 0
	for i, buf := range cmds {
		if got[i].i != i {
			t.Fatalf("answer %d is for command %d", i, got[i].i)
		}
		c, err := DecodeCommand(buf)
		if err != nil {
			if got[i].res.Err == nil || got[i].res.Err.Code != floodgate.EInvalid {
				t.Fatalf("command %d cannot be decoded, answered %+v", i, got[i].res)
			}
			refused++
			continue
		}
		want := b.Apply(&c)
		if !reflect.DeepEqual(got[i].res, want) {
			t.Fatalf("command %d (%v): ApplyBatch answered %+v, Apply %+v", i, c.Kind, got[i].res, want)
		}
		if want.Err != nil {
			refused++
		}
	}
	if refused == 0 || refused == len(cmds) {
		t.Fatalf("%d of %d commands refused: the batch must mix both", refused, len(cmds))
	}
	sameState(t, a, b, "the states after the same commands")

	// A batch with bytes after its last command: every command is applied
	// and answered, and the fault is returned.
	c := a.Clone()
	more := []byte(nil)
	add(Command{Kind: KindHold, Now: now, Drop: "d", Visitor: "late", Seq: 150, Quantity: 1})
	more = AppendBatch(more, cmds[len(cmds)-1:])
	more = append(more, 0)
	answered := 0
	n, err = c.ApplyBatch(more, func(int, Result) { answered++ })
	if err == nil || n != 1 || answered != 1 {
		t.Fatalf("a batch with a trailing byte: %d applied, %d answered, err %v; want 1, 1 and an error", n, answered, err)
	}
	if c.Tickets.Get("d", "late") == nil {
		t.Fatal("the command before the fault was not applied")
	}
}
