package status

import (
	"bytes"
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzAdminBodies sends arbitrary bodies to every JSON endpoint: each answer
// must be a 2xx or a documented 4xx, never a 5xx or a crash.
func FuzzAdminBodies(f *testing.F) {
	for _, seed := range []string{
		`{"name":"x","impact":"minor","message":"m","components":["login"]}`,
		`{"status":"resolved","message":"done"}`,
		`{"channel":"webhook","target":"http://127.0.0.1/x","secret":"0123456789abcdef"}`,
		`{"name":"m","message":"m","scheduled_for":"2026-01-01T00:00:00Z","scheduled_until":"2026-01-01T01:00:00Z"}`,
		`{"name":"\u0000","impact":"critical","message":"` + "\xff" + `"}`,
		`[]`, `null`, `{"components":null}`, `{"name":1}`,
		`{"channel":"email","target":"a@example.com","components":["checkout"]}`,
		`{"channel":"sms","target":"+821012345678"}`,
		`{"name":"Sale","name_ko":"판매","components":["checkout","orders"]}`,
		`{"body":"What happened and what we changed."}`,
	} {
		f.Add(seed)
	}
	s, _ := MustOpen(f, nil)
	inc, err := s.CreateIncident(IncidentInput{Name: "seed", Impact: ImpactMinor, Message: "seed"})
	if err != nil {
		f.Fatal(err)
	}
	h := s.Handler()
	paths := []struct{ method, path string }{
		{"POST", "/api/v1/incidents"},
		{"POST", "/api/v1/incidents/" + inc.ID + "/updates"},
		{"PATCH", "/api/v1/incidents/" + inc.ID},
		{"POST", "/api/v1/subscribers"},
		{"POST", "/api/v1/maintenances"},
		{"POST", "/api/v1/subscriptions"},
		{"PUT", "/api/v1/component-groups/sale"},
		{"POST", "/api/v1/incidents/" + inc.ID + "/postmortem"},
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, p := range paths {
			req := httptest.NewRequest(p.method, p.path, bytes.NewReader([]byte(body)))
			req.Header.Set("Authorization", "Bearer "+testToken)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s %s with %q: %d %s", p.method, p.path, body, rec.Code, rec.Body)
			}
			if rec.Code >= 400 && !bytes.Contains(rec.Body.Bytes(), []byte(`"error":{"code":`)) {
				t.Fatalf("%s %s: error without the API error shape: %s", p.method, p.path, rec.Body)
			}
		}
	})
}

// FuzzVerifySignature checks that no header crashes the verifier and that
// only the real signature verifies.
func FuzzVerifySignature(f *testing.F) {
	body := []byte(`{"id":"evt_1"}`)
	at := time.Unix(1_790_000_000, 0)
	good := Sign("secret", at, body)
	f.Add(good)
	f.Add("t=,v1=")
	f.Add("t=1790000000,v1=zz,v1=00")
	f.Add(",,,==,t=99999999999999999999")
	f.Fuzz(func(t *testing.T, header string) {
		err := VerifySignature("secret", header, body, at, time.Minute)
		if err == nil && header != good {
			// Another header may verify only if it carries the same v1
			// (hex is read in either case: the same bytes).
			if !bytes.Contains(bytes.ToLower([]byte(header)), []byte(good[len("t=1790000000,"):])) {
				t.Fatalf("header %q verified", header)
			}
		}
	})
}
