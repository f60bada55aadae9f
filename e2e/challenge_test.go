package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// joinAs posts a join from the client address addr (through X-Forwarded-For,
// which a loopback proxy is trusted for), with an optional body.
func joinAs(tb testing.TB, n *testkit.Node, drop, addr string, body any) *testkit.Response {
	tb.Helper()
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	hdr := http.Header{}
	if addr != "" {
		hdr.Set("X-Forwarded-For", addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := n.Do(ctx, http.MethodPost, "/api/v1/drops/"+drop+"/queue", hdr, raw)
	if err != nil {
		tb.Fatalf("join: %v", err)
	}
	return resp
}

func solution(id, nonce string) map[string]any {
	return map[string]any{"challenge": map[string]string{"id": id, "nonce": nonce}}
}

func mustChallenge(tb testing.TB, resp *testkit.Response) testkit.Challenge {
	tb.Helper()
	if resp.Status != http.StatusPreconditionRequired {
		tb.Fatalf("status %d, want 428: %s", resp.Status, resp.Body)
	}
	ch, err := testkit.ParseChallenge(resp)
	if err != nil {
		tb.Fatal(err)
	}
	return ch
}

func wantCode(tb testing.TB, what string, resp *testkit.Response, status int, code string) {
	tb.Helper()
	if resp.Status != status {
		tb.Fatalf("%s: status %d, want %d: %s", what, resp.Status, status, resp.Body)
	}
	if e := testkit.ParseError(resp); e.Code != code {
		tb.Fatalf("%s: code %q, want %q: %s", what, e.Code, code, resp.Body)
	}
}

// TestJoinChallengeFixed walks a drop with a fixed difficulty through every
// answer of the contract: unsolved → 428, wrong → 400, solved → 201, the
// same solution again → refused.
func TestJoinChallengeFixed(t *testing.T) {
	n := testkit.StartNode(t, testkit.Options{})
	d := n.MustCreateDrop(t, testkit.DropRequest{ID: "pow-fixed", Name: "PoW", Stock: 5, ChallengeDifficulty: 12})
	if d.ChallengeDifficulty != float64(12) {
		t.Fatalf("the drop shows challenge_difficulty %v, want 12", d.ChallengeDifficulty)
	}
	ch := mustChallenge(t, joinAs(t, n, "pow-fixed", "", nil))
	prefix, err := base64.RawURLEncoding.DecodeString(ch.Prefix)
	if err != nil || len(prefix) == 0 {
		t.Fatalf("prefix %q is not base64url without padding: %v", ch.Prefix, err)
	}
	if ch.Algorithm != "sha256" || ch.Difficulty != 12 || ch.ID == "" || !ch.ExpiresAt.After(time.Now()) {
		t.Fatalf("challenge %+v", ch)
	}
	wantCode(t, "a wrong nonce", joinAs(t, n, "pow-fixed", "", solution(ch.ID, testkit.WrongNonce(ch))), 400, "invalid_argument")
	wantCode(t, "a forged id", joinAs(t, n, "pow-fixed", "", solution(ch.ID[:len(ch.ID)-2]+"AA", testkit.Solve(ch))), 400, "invalid_argument")
	wantCode(t, "a nonce of 65 characters", joinAs(t, n, "pow-fixed", "", solution(ch.ID, string(make([]byte, 65)))), 400, "invalid_argument")
	wantCode(t, "an unknown field", joinAs(t, n, "pow-fixed", "", map[string]any{"challenge": map[string]string{"id": ch.ID, "nonce": "1", "x": "y"}}), 400, "invalid_argument")

	nonce := testkit.Solve(ch)
	resp := joinAs(t, n, "pow-fixed", "", solution(ch.ID, nonce))
	if resp.Status != http.StatusCreated {
		t.Fatalf("solved: status %d, want 201: %s", resp.Status, resp.Body)
	}
	var tk testkit.Ticket
	if err := json.Unmarshal(resp.Body, &tk); err != nil || tk.Ticket == "" {
		t.Fatalf("solved: no ticket in %s", resp.Body)
	}
	again := joinAs(t, n, "pow-fixed", "", solution(ch.ID, nonce))
	if again.Status < 400 || again.Status >= 500 {
		t.Fatalf("the same solution again: status %d, want a 4xx refusal: %s", again.Status, again.Body)
	}
	wantCode(t, "the same solution again", again, 409, "conflict")
	// Bound to the drop: a solution for one drop is no good for another.
	n.MustCreateDrop(t, testkit.DropRequest{ID: "pow-other", Name: "Other", Stock: 5, ChallengeDifficulty: 12})
	ch2 := mustChallenge(t, joinAs(t, n, "pow-fixed", "", nil))
	wantCode(t, "a solution for another drop", joinAs(t, n, "pow-other", "", solution(ch2.ID, testkit.Solve(ch2))), 400, "invalid_argument")
	// The test client solves like a browser does.
	if _, err := n.Join(context.Background(), "pow-fixed"); err != nil {
		t.Fatalf("testkit Join through the challenge: %v", err)
	}
	for _, bad := range []any{"hard", 29, -1, 1.5} {
		_, status, err := n.CreateDrop(context.Background(), testkit.DropRequest{ID: "pow-bad", Name: "Bad", Stock: 1, ChallengeDifficulty: bad})
		if status != 400 || testkit.Code(err) != "invalid_argument" {
			t.Errorf("challenge_difficulty %v: status %d, err %v; want 400 invalid_argument", bad, status, err)
		}
	}
}

// TestJoinChallengeAuto floods an "auto" drop from one address and checks
// that the address is asked for more and more work while a visitor on its
// own address joins without any, and that the challenge goes away once the
// flood is over.
func TestJoinChallengeAuto(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the flood to pass (about 30 s)")
	}
	n := testkit.StartNode(t, testkit.Options{KeepRateLimits: true})
	d := n.MustCreateDrop(t, testkit.DropRequest{ID: "pow-auto", Name: "PoW auto", Stock: 100})
	if d.ChallengeDifficulty != "auto" {
		t.Fatalf("challenge_difficulty defaults to %v, want \"auto\"", d.ChallengeDifficulty)
	}
	const bot = "203.0.113.50"
	first := joinAs(t, n, "pow-auto", bot, nil)
	if first.Status != http.StatusCreated {
		t.Fatalf("the first join of a calm drop: status %d, want 201: %s", first.Status, first.Body)
	}
	tickets, top := 1, 0
	for range 400 {
		resp := joinAs(t, n, "pow-auto", bot, nil)
		switch resp.Status {
		case http.StatusCreated:
			tickets++
		case http.StatusPreconditionRequired:
			ch := mustChallenge(t, resp)
			top = max(top, ch.Difficulty)
		default:
			t.Fatalf("flood: status %d: %s", resp.Status, resp.Body)
		}
	}
	if top < 20 {
		t.Errorf("400 joins from one address in a moment reach %d bits, want at least 20", top)
	}
	// The first 50 or so come while the drop is still calm (under 5 joins
	// a second over about ten seconds); after that, none is free.
	if tickets > 60 {
		t.Errorf("%d of 401 joins from one address got a ticket without work", tickets)
	}
	if resp := joinAs(t, n, "pow-auto", "198.51.100.7", nil); resp.Status != http.StatusCreated {
		t.Errorf("a visitor on its own address during the flood: status %d, want 201 without a challenge: %s", resp.Status, resp.Body)
	}
	// The flood is over: within a minute the drop is calm and nobody pays.
	deadline := time.Now().Add(60 * time.Second)
	for {
		time.Sleep(3 * time.Second)
		resp := joinAs(t, n, "pow-auto", bot, nil)
		if resp.Status == http.StatusCreated {
			break
		}
		mustChallenge(t, resp)
		if time.Now().After(deadline) {
			t.Fatal("the flooding address is still challenged a minute after the flood")
		}
	}
}
