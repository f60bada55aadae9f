package sale

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestCustomerCounts checks the per-customer counts against the map they
// replaced: the same counts, a customer whose hash another has taken still
// counted apart (both under the hash), customers back at zero left out, and the same JSON.
func TestCustomerCounts(t *testing.T) {
	cc := newCustomerCounts()
	m := map[string]int64{}
	cc.m.insert(customerHash("b@x"), 0) // as if b@x had the hash of the first customer
	for _, step := range []struct {
		c string
		n int64
	}{{"a@x", 1}, {"b@x", 2}, {"<c>@x", 1}, {"a@x", 1}, {"b@x", -2}, {"d@x", 0}, {"e\xff", 3}} {
		cc.add(step.c, step.n)
		if m[step.c] += step.n; m[step.c] == 0 {
			delete(m, step.c)
		}
	}
	cc.catchUp() // a look-up by name indexes the customers appended since the last one
	if cc.m.len() != cc.len()+1 || cc.more != nil {
		t.Fatalf("%d slots and %d whole keys for %d customers and the taken hash", cc.m.len(), len(cc.more), cc.len())
	}
	for _, c := range []string{"a@x", "b@x", "<c>@x", "d@x", "e\xff", "nobody"} {
		if got := cc.Get(c); got != m[c] {
			t.Fatalf("Get(%q) = %d, want %d", c, got, m[c])
		}
	}
	got, err := json.Marshal(cc)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(m)
	if !bytes.Equal(got, want) {
		t.Fatalf("counts encode as %s, the map as %s", got, want)
	}
	var back CustomerCounts
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	var mback map[string]int64
	if err := json.Unmarshal(got, &mback); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(back)
	if want, _ := json.Marshal(mback); !bytes.Equal(again, want) {
		t.Fatalf("read back and written again: %s, the map: %s", again, want)
	}
	if none, _ := json.Marshal(CustomerCounts{}); string(none) != "null" {
		t.Fatalf("counts never made encode as %s, want null (as a nil map)", none)
	}
}
