package http

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/sale"
)

var fuzzNow = time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)

func TestDropSpecFromJSON(t *testing.T) {
	spec, err := DropSpecFromJSON([]byte(`{"id":"mini-speaker","name":"Mini AI speaker","price":59000,"currency":"KRW",
		"stock":3000,"per_customer_limit":1,"starts_at":"2026-11-23T11:00:00Z","hold_seconds":300,"admit_per_second":200,
		"vouchers":["MELON-0001","MELON-0002"]}`), fuzzNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := sale.DropSpec{ID: "mini-speaker", Name: "Mini AI speaker", Price: 59000, Currency: "KRW", Stock: 3000,
		PerCustomerLimit: 1, StartsAt: fuzzNow.UnixMilli(), HoldSeconds: 300, AdmitPerSecond: 200,
		AdmitWindow: sale.DefaultAdmitWindow, Vouchers: []string{"MELON-0001", "MELON-0002"}, Fingerprint: spec.Fingerprint,
		ChallengeDifficulty: sale.ChallengeAuto}
	if !reflect.DeepEqual(*spec, want) {
		t.Fatalf("spec\n got %+v\nwant %+v", *spec, want)
	}
	// Defaults: starts_at is now, limit 1, hold and admission defaults.
	spec2, err := DropSpecFromJSON([]byte(`{"id":"d","name":"D","stock":5}`), fuzzNow)
	if err != nil {
		t.Fatal(err)
	}
	if spec2.StartsAt != fuzzNow.UnixMilli() || spec2.PerCustomerLimit != 1 || spec2.HoldSeconds != sale.DefaultHoldSeconds || spec2.AdmitPerSecond != sale.DefaultAdmitPerSecond {
		t.Fatalf("defaults: %+v", spec2)
	}
	// The fingerprint is of the request, not of the defaults: the same body
	// later is the same drop; another body is another.
	again, _ := DropSpecFromJSON([]byte(`{"id":"d","name":"D","stock":5}`), fuzzNow.Add(time.Minute))
	other, _ := DropSpecFromJSON([]byte(`{"id":"d","name":"D","stock":6}`), fuzzNow)
	if again.Fingerprint != spec2.Fingerprint || other.Fingerprint == spec2.Fingerprint {
		t.Fatalf("fingerprints %s %s %s", spec2.Fingerprint, again.Fingerprint, other.Fingerprint)
	}
}

// TestRequestTimesOutsideTheYearsAreRefused: every time a drop's request
// takes is kept in unix ms; a year before 1970 is refused with a message
// that names the field, on creation and in a patch alike.
func TestRequestTimesOutsideTheYearsAreRefused(t *testing.T) {
	create := func(field string) func(at string) error {
		return func(at string) error {
			_, err := DropSpecFromJSON([]byte(`{"id":"d","name":"D","stock":5,"`+field+`":`+at+`}`), fuzzNow)
			return err
		}
	}
	for field, decode := range map[string]func(at string) error{
		"starts_at":     create("starts_at"),
		"entry_ends_at": create("entry_ends_at"),
		"presale_until": create("presale_until"),
		"ends_at":       func(at string) error { _, err := DropPatchFromJSON([]byte(`{"ends_at":` + at + `}`)); return err },
	} {
		err := decode(`"0001-01-01T00:00:00Z"`)
		want := `"` + field + `" must be between 1970 and 9999.`
		if floodgate.ErrorCode(err) != floodgate.EInvalid || floodgate.ErrorMessage(err) != want {
			t.Errorf("%s in the year 1: %v; want invalid_argument %q", field, err, want)
		}
	}
	p, err := DropPatchFromJSON([]byte(`{"ends_at":"2026-11-23T11:00:00Z"}`))
	if err != nil || p.EndsAt == nil || *p.EndsAt != fuzzNow.UnixMilli() {
		t.Fatalf("ends_at in 2026: %v %v", p, err)
	}
}

// FuzzDropSpecFromJSON feeds arbitrary bodies to the create-drop decoder: it
// never panics; it refuses with invalid_argument (a message for the admin);
// and whatever it accepts is a valid spec that survives the log encoding.
func FuzzDropSpecFromJSON(f *testing.F) {
	for _, s := range []string{
		`{"id":"d","name":"D","stock":5}`,
		`{"id":"mini-speaker","name":"Mini","price":59000,"currency":"KRW","stock":3000,"per_customer_limit":1,"starts_at":"2026-11-23T11:00:00Z","hold_seconds":300,"admit_per_second":200,"admit_window_seconds":60,"vouchers":["A","B"]}`,
		`{"id":"d","name":"D","stock":0}`,
		`{"id":"d","name":"D","stock":1e300}`,
		`{"id":"d","name":"D","stock":5,"starts_at":"0001-01-01T00:00:00Z"}`,
		`{"id":"d","name":"D","stock":5,"starts_at":"9999-12-31T23:59:59.999999999+14:00"}`,
		`{"id":"d","name":"D","stock":5,"vouchers":["A","A"]}`,
		`{"id":"d","name":"D","stock":5,"unknown":1}`,
		`{"id":"d","name":"D","stock":5}{}`,
		`null`, `[]`, `"x"`, ``, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		spec, err := DropSpecFromJSON(body, fuzzNow)
		if err != nil {
			wantInvalid(t, err)
			return
		}
		if verr := sale.ValidateSpec(spec); verr != nil {
			t.Fatalf("accepted an invalid spec %+v: %v", spec, verr)
		}
		c := sale.Command{Kind: sale.KindCreateDrop, Drop: spec.ID, Spec: spec}
		dc, err := sale.DecodeCommand(sale.AppendCommand(nil, &c))
		if err != nil || !reflect.DeepEqual(dc.Spec, spec) && !(len(spec.Vouchers) == 0 && specEqualNoVouchers(dc.Spec, spec)) {
			t.Fatalf("the accepted spec does not survive the log encoding: %+v → %+v (%v)", spec, dc.Spec, err)
		}
		again, err := DropSpecFromJSON(body, fuzzNow)
		if err != nil || again.Fingerprint != spec.Fingerprint {
			t.Fatalf("the same body twice gives another fingerprint")
		}
	})
}

func specEqualNoVouchers(a, b *sale.DropSpec) bool {
	x, y := *a, *b
	x.Vouchers, y.Vouchers = nil, nil
	return reflect.DeepEqual(x, y)
}

// wantInvalid fails t unless err, a decoder's refusal of a body, is
// invalid_argument with a message: the one way bad input is refused.
func wantInvalid(t *testing.T, err error) {
	t.Helper()
	if floodgate.ErrorCode(err) != floodgate.EInvalid || floodgate.ErrorMessage(err) == "" {
		t.Fatalf("refusal %v is not invalid_argument with a message", err)
	}
}

// FuzzDecodeRequests feeds arbitrary bodies to api.DecodeBytes into each
// request struct of the API: it never panics; it refuses with
// invalid_argument; and what it accepts re-encodes to JSON that decodes to
// the same value, or to one that encodes alike (nothing unknown slipped
// through).
func FuzzDecodeRequests(f *testing.F) {
	for _, s := range []string{
		`{"quantity":1}`, `{"quantity":-1}`, `{"quantity":"1"}`, `{"quantity":1,"x":2}`,
		`{"session":"abc.def"}`, `{"email":"a@example.com"}`, `{"Email":"a@example.com"}`,
		`{"id":"d","name":"D","stock":5,"vouchers":["a"]}`,
		`{} {}`, `{}x`, ` {"quantity": 1 } `, "{\"quantity\":1}\n", `{"quantity":1e3}`,
		`{"session":"\u0000"}`, `{"email":"\ud800"}`, `{"quantity":null}`,
	} {
		f.Add([]byte(s))
	}
	targets := []func() any{
		func() any { return &holdRequest{} },
		func() any { return &orderRequest{} },
		func() any { return &sessionRequest{} },
		func() any { return &createDropRequest{} },
		func() any { return &struct{}{} },
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > api.MaxBody {
			return
		}
		for _, mk := range targets {
			v := mk()
			err := api.DecodeBytes(body, v)
			if err != nil {
				wantInvalid(t, fmt.Errorf("%T: %w", v, err))
				continue
			}
			if len(bytes.TrimSpace(body)) == 0 {
				t.Fatalf("%T: an empty body was accepted", v)
			}
			enc, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("%T: accepted a value that does not encode: %v", v, err)
			}
			w := mk()
			if err := api.DecodeBytes(enc, w); err != nil {
				t.Fatalf("%T: its own encoding %s is refused: %v", v, enc, err)
			}
			// An empty list and a missing one are the same request (the
			// encoding leaves an empty one out): then the value read back
			// encodes as the first did.
			if again, err := json.Marshal(w); !reflect.DeepEqual(v, w) && (err != nil || !bytes.Equal(enc, again)) && !strings.Contains(string(enc), `\ufffd`) {
				t.Fatalf("%T: %s decodes to %+v, re-encoded to %+v", v, enc, v, w)
			}
		}
	})
}

func TestDropSpecChallengeDifficulty(t *testing.T) {
	for body, want := range map[string]int64{
		`{"id":"d","name":"D","stock":5}`:                               sale.ChallengeAuto,
		`{"id":"d","name":"D","stock":5,"challenge_difficulty":"auto"}`: sale.ChallengeAuto,
		`{"id":"d","name":"D","stock":5,"challenge_difficulty":null}`:   sale.ChallengeAuto,
		`{"id":"d","name":"D","stock":5,"challenge_difficulty":0}`:      0,
		`{"id":"d","name":"D","stock":5,"challenge_difficulty":28}`:     28,
	} {
		spec, err := DropSpecFromJSON([]byte(body), fuzzNow)
		if err != nil || spec.ChallengeDifficulty != want {
			t.Errorf("%s: %v, %v; want %d", body, spec, err, want)
		}
	}
	for _, v := range []string{`29`, `-1`, `1.5`, `"AUTO"`, `true`, `"12"`} {
		body := `{"id":"d","name":"D","stock":5,"challenge_difficulty":` + v + `}`
		if _, err := DropSpecFromJSON([]byte(body), fuzzNow); floodgate.ErrorCode(err) != floodgate.EInvalid {
			t.Errorf("challenge_difficulty %s: %v, want invalid_argument", v, err)
		}
	}
}

func FuzzDropPatchFromJSON(f *testing.F) {
	for _, s := range []string{
		`{"stock":10}`, `{"admit_per_second":0}`, `{"name":""}`, `{"ends_at":"2026-11-23T11:00:00Z"}`,
		`{"ends_at":"0001-01-01T00:00:00Z"}`, `{"hold_seconds":1e300}`, `{"stock":-1,"name":"x"}`,
		`{}`, `{"colour":"red"}`, `{"stock":"1"}`, `null`, `[]`, ``, `{"stock":1}{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := DropPatchFromJSON(body)
		if err != nil {
			wantInvalid(t, err)
			return
		}
		if p.Empty() {
			t.Fatalf("an empty patch was accepted from %q", body)
		}
		// The state machine judges the values; it never panics on them.
		s := sale.NewState()
		sp := &sale.DropSpec{ID: "d", Name: "D", Stock: 5, PerCustomerLimit: 1, HoldSeconds: 60, AdmitPerSecond: 10, AdmitWindow: 60, Fingerprint: "f"}
		s.Apply(&sale.Command{Kind: sale.KindCreateDrop, Now: 1, Drop: "d", Spec: sp})
		s.Apply(&sale.Command{Kind: sale.KindUpdateDrop, Now: 2, Drop: "d", Patch: p})
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
	})
}
