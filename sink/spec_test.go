package sink

import (
	"strings"
	"testing"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/sale"
)

func TestValidateSpec(t *testing.T) {
	for _, tc := range []struct {
		spec sale.SinkSpec
		dev  bool
		ok   bool
	}{
		{sale.SinkSpec{Kind: "webhook", URL: "https://shop.example/hook", Secret: "a-16-char-secret"}, false, true},
		// The status webhooks' address guard: loopback and private
		// targets only with --dev.
		{sale.SinkSpec{Kind: "webhook", URL: "http://127.0.0.1:9/hook", Secret: "a-16-char-secret"}, false, false},
		{sale.SinkSpec{Kind: "webhook", URL: "http://10.1.2.3/hook", Secret: "a-16-char-secret"}, false, false},
		{sale.SinkSpec{Kind: "webhook", URL: "http://localhost/hook", Secret: "a-16-char-secret"}, false, false},
		{sale.SinkSpec{Kind: "webhook", URL: "http://127.0.0.1:9/hook", Secret: "a-16-char-secret"}, true, true},
		{sale.SinkSpec{Kind: "webhook", URL: "https://user:pw@shop.example/hook", Secret: "a-16-char-secret"}, false, false},
		{sale.SinkSpec{Kind: "webhook", URL: "file:///etc/passwd", Secret: "a-16-char-secret"}, true, false},
		// A secret of one character signs nothing worth checking.
		{sale.SinkSpec{Kind: "webhook", URL: "https://shop.example/hook", Secret: "k"}, false, false},
		// Carrier-grade NAT, benchmarking and NAT64 ranges reach inside.
		{sale.SinkSpec{Kind: "webhook", URL: "http://100.64.0.1/hook", Secret: "a-16-char-secret"}, false, false},
		{sale.SinkSpec{Kind: "webhook", URL: "http://198.18.0.1/hook", Secret: "a-16-char-secret"}, false, false},
		{sale.SinkSpec{Kind: "webhook", URL: "http://[64:ff9b::a00:1]/hook", Secret: "a-16-char-secret"}, false, false},
		// A DSN may point anywhere the operator runs PostgreSQL.
		{sale.SinkSpec{Kind: "postgres", DSN: "postgres://u:p@127.0.0.1:5432/shop"}, false, true},
		{sale.SinkSpec{Kind: "postgres", DSN: "host=127.0.0.1 user=u"}, false, false},
		{sale.SinkSpec{Kind: "postgres", DSN: "postgres://u:p@127.0.0.1:5432/shop", Table: "1bad"}, false, false},
		{sale.SinkSpec{Kind: "postgres", DSN: "postgres://u:p@127.0.0.1:5432/shop?sslmode=bogus"}, false, false},
	} {
		got, err := ValidateSpec(tc.spec, tc.dev)
		if (err == nil) != tc.ok {
			t.Errorf("%+v dev=%v: err %v, want ok=%v", tc.spec, tc.dev, err, tc.ok)
			continue
		}
		if err != nil && floodgate.ErrorCode(err) != floodgate.EInvalid {
			t.Errorf("%+v: code %s, want invalid_argument", tc.spec, floodgate.ErrorCode(err))
		}
		if err != nil && strings.Contains(err.Error(), ":p@") {
			t.Errorf("%+v: the error shows the password: %v", tc.spec, err)
		}
		if err == nil && tc.spec.Kind == "postgres" && tc.spec.Table == "" && got.Table != sale.DefaultSinkTbl {
			t.Errorf("default table %q", got.Table)
		}
	}
}

func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://shop:hunter2@db:5432/x":          "postgres://shop:redacted@db:5432/x",
		"postgres://db/x?password=hunter2&sslmode=a": "postgres://db/x?password=redacted&sslmode=a",
		"postgres://db/x":                            "postgres://db/x",
	} {
		if got := RedactDSN(in); got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBackoffDoublesUpToTheMax(t *testing.T) {
	r := New(Config{MinBackoff: 100_000_000, MaxBackoff: 1_000_000_000})
	prev := r.backoff(1)
	if prev > 100_000_000 || prev < 75_000_000 {
		t.Fatalf("first backoff %v", prev)
	}
	for f := int64(2); f < 70; f++ {
		d := r.backoff(f)
		if d > 1_000_000_000 || d < 750_000_000 && f > 5 {
			t.Fatalf("backoff after %d failures: %v", f, d)
		}
	}
}

// FuzzValidateSpec feeds arbitrary sink specs to ValidateSpec: it never
// panics, refuses with invalid_argument only, and whatever it accepts the
// state machine accepts too.
func FuzzValidateSpec(f *testing.F) {
	f.Add("webhook", "https://shop.example/hook", "shop-secret-0123456789", "", "")
	f.Add("postgres", "", "", "postgres://u:pw@127.0.0.1:5432/shop", "orders")
	f.Add("postgres", "", "", "postgres://u:pw@[::1/shop", "")
	f.Add("webhook", "http://[fe80::1%25eth0]/x", "shop-secret-0123456789", "", "")
	f.Fuzz(func(t *testing.T, kind, url, secret, dsn, table string) {
		sp := sale.SinkSpec{Kind: kind, URL: url, Secret: secret, DSN: dsn, Table: table}
		got, err := ValidateSpec(sp, false)
		if err != nil {
			if floodgate.ErrorCode(err) != floodgate.EInvalid {
				t.Fatalf("%+v: code %s", sp, floodgate.ErrorCode(err))
			}
			return
		}
		if e := sale.ValidateSinkSpec(&got); e != nil {
			t.Fatalf("accepted %+v, which the state machine refuses: %v", got, e)
		}
	})
}
