package sale

import (
	"strings"
	"testing"
)

func TestStatusRecords(t *testing.T) {
	s := NewState()
	put := func(key, v string) StatusOp { return StatusOp{Key: key, Value: []byte(v)} }
	mustOK(t, s, Command{Kind: KindStatus, StatusOps: []StatusOp{put("incidents/a", `{"n":1}`), put("subscribers/b", `{}`)}})
	if s.StatusSeq != 1 || string(s.Status["incidents/a"].Value) != `{"n":1}` || s.Status["subscribers/b"].Seq != 1 {
		t.Fatalf("after the first change: seq %d, records %v", s.StatusSeq, s.Status)
	}
	mustOK(t, s, Command{Kind: KindStatus, StatusOps: []StatusOp{put("incidents/a", `{"n":2}`), {Key: "subscribers/b", Del: true}}})
	if s.StatusSeq != 2 || s.Status["incidents/a"].Seq != 2 || len(s.Status) != 1 {
		t.Fatalf("after the second change: seq %d, records %v", s.StatusSeq, s.Status)
	}
	// A snapshot keeps the records.
	buf, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(buf)
	if err != nil || back.StatusSeq != 2 || string(back.Status["incidents/a"].Value) != `{"n":2}` {
		t.Fatalf("restored: %v %+v", err, back)
	}

	// Bad changes are refused whole: nothing of them is applied.
	before, _ := s.Marshal()
	for _, ops := range [][]StatusOp{
		nil,
		{put("incidents/ok", `{}`), put("nobucket", `{}`)},
		{put("Incidents/x", `{}`)},
		{put("incidents/", `{}`)},
		{{Key: "incidents/x"}},
		{put("incidents/"+strings.Repeat("x", MaxStatusKey), `{}`)},
		{put("incidents/big", strings.Repeat("x", MaxStatusValue+1))},
	} {
		c := Command{Kind: KindStatus, StatusOps: ops}
		if res := s.Apply(&c); res.Err == nil {
			t.Errorf("%v accepted", ops)
		}
		s.Applied--
	}
	if after, _ := s.Marshal(); string(after) != string(before) {
		t.Fatal("a refused status change changed the state")
	}
}
