package http

import (
	"bytes"
	"net/http"
	"net/netip"
	"reflect"
	"testing"
)

func TestForwardBatchEncoding(t *testing.T) {
	jobs := []*fwdJob{
		{method: "POST", uri: "/api/v1/drops/d/holds", header: http.Header{"Authorization": {"Bearer t"}, "X-Forwarded-For": {"198.51.100.1, 127.0.0.1"}}, body: []byte(`{"quantity":1}`), marker: forwardMarker{ip: netip.MustParseAddr("198.51.100.1")}},
		{method: "POST", uri: "/api/v1/drops?x=1", header: http.Header{"A": {"1", "2"}}, marker: forwardMarker{ip: netip.MustParseAddr("2001:db8::1"), admin: true}},
	}
	got, err := decodeBatch(encodeBatch(jobs))
	if err != nil {
		t.Fatal(err)
	}
	for i := range jobs {
		want := *jobs[i]
		g := *got[i]
		if len(want.body) == 0 {
			want.body = []byte{}
		}
		if g.method != want.method || g.uri != want.uri || !reflect.DeepEqual(g.header, want.header) || !bytes.Equal(g.body, want.body) || g.marker != want.marker {
			t.Errorf("job %d: got %+v, want %+v", i, g, want)
		}
	}
	as := []fwdAnswer{{status: 201, header: http.Header{"Content-Type": {"application/json"}}, body: []byte("{}\n")}, {status: 429, header: http.Header{"Retry-After": {"1"}}}}
	back, err := decodeAnswers(encodeAnswers(as), 2)
	if err != nil || back[0].status != 201 || string(back[0].body) != "{}\n" || back[1].header.Get("Retry-After") != "1" {
		t.Fatalf("answers: %+v %v", back, err)
	}
	if _, err := decodeAnswers(encodeAnswers(as), 3); err == nil {
		t.Error("answers for 2 writes taken for 3")
	}
	for _, bad := range [][]byte{nil, {0}, {1}, append(encodeBatch(jobs), 0), encodeBatch(jobs)[:20]} {
		if _, err := decodeBatch(bad); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add(encodeBatch([]*fwdJob{{method: "POST", uri: "/x", header: http.Header{"K": {"v"}}, body: []byte("b"), marker: forwardMarker{ip: netip.MustParseAddr("10.0.0.1")}}}))
	f.Add([]byte{1, 4, 'P', 'O', 'S', 'T'})
	f.Fuzz(func(t *testing.T, raw []byte) {
		jobs, err := decodeBatch(raw)
		if err != nil {
			return
		}
		again, err := decodeBatch(encodeBatch(jobs))
		if err != nil || len(again) != len(jobs) {
			t.Fatalf("a decoded batch does not survive encoding: %v", err)
		}
	})
}
