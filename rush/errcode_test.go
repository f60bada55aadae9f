package rush

import (
	"encoding/json"
	"testing"
)

// FuzzErrorCode: the code read by hand is the one encoding/json reads.
func FuzzErrorCode(f *testing.F) {
	for _, seed := range []string{
		`{"error":{"code":"sold_out","message":"The drop is sold out."}}` + "\n",
		`{"error":{"code":"not_admitted","message":"Not your turn yet."}}`,
		`{"error":{"code":"x","message":"a \u003c b"}}`,
		`{"error":{"code":"a","message":"m","code":"b"}}`,
		`{"error":{"code":"a","message":"m"},"error":{"code":"b"}}`,
		`{"error":{"code":"a","message":"m"}} x`,
		`{"error":{"code":7,"message":"m"}}`,
		"{\"error\":{\"code\":\"caf\xe9\",\"message\":\"m\"}}",
		`{"error":{"code":"sold_out","message":"m"}`,
		`not json`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var e struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		want := ""
		if json.Unmarshal(b, &e) == nil {
			want = e.Error.Code
		}
		if got := errorCode(b); got != want {
			t.Fatalf("%q: code %q, encoding/json %q", b, got, want)
		}
		if got, ok := readErrorCode(b); ok && got != want {
			t.Fatalf("%q: read by hand as %q, encoding/json %q", b, got, want)
		}
	})
}

// The API's own error answers are read by hand.
func TestErrorAnswersAreReadByHand(t *testing.T) {
	for _, b := range []string{
		`{"error":{"code":"sold_out","message":"The drop is sold out."}}` + "\n",
		`{"error":{"code":"hold_expired","message":"The hold has expired; take a new one."}}` + "\n",
	} {
		if _, ok := readErrorCode([]byte(b)); !ok {
			t.Errorf("%s: not read by hand", b)
		}
	}
	soldOut := []byte(`{"error":{"code":"sold_out","message":"m"}}`)
	if n := testing.AllocsPerRun(100, func() { errorCode(soldOut) }); n != 0 {
		t.Errorf("reading sold_out allocated %v times", n)
	}
}
