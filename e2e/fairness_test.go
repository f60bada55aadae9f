package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/fairness"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/sale"
)

func mustGet(t *testing.T, n *testkit.Node, path string, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := n.Call(ctx, http.MethodGet, path, nil, nil, out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// runVerify runs the real `floodgate verify` and returns its output and
// whether it exited 0.
func runVerify(t *testing.T, target, drop, receiptFile string) (string, bool) {
	t.Helper()
	args := []string{"verify", "--target", target, "--drop", drop}
	if receiptFile != "" {
		args = append(args, "--receipt", receiptFile)
	}
	out, err := exec.Command(testkit.Binary(t), args...).CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("run floodgate verify: %v", err)
		}
	}
	return string(out), err == nil
}

// tamperProxy serves the node through a reverse proxy that rewrites the
// answers of one path with edit, as a dishonest server would.
func tamperProxy(t *testing.T, n *testkit.Node, path string, edit func([]byte) []byte) string {
	t.Helper()
	u, _ := url.Parse(n.URL)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasSuffix(resp.Request.URL.Path, path) {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		resp.Body.Close()
		b = edit(b)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Del("Content-Length")
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}

type fairnessDoc struct {
	ShuffleCommitment string `json:"shuffle_commitment"`
	Revealed          bool   `json:"revealed"`
	Seed              string `json:"seed"`
	EarlyTotal        *int64 `json:"early_total"`
	Log               struct {
		Signed string `json:"signed"`
	} `json:"log"`
}

// TestFairnessQueueIsCheckable: a queue drop commits to its seed before the
// first arrival, reveals it at the opening, and every early arrival's
// position, the log, its heads, the receipts and the stock check out with
// public data only; floodgate verify passes, and fails on a tampered log, a
// wrong seed and a forged receipt.
func TestFairnessQueueIsCheckable(t *testing.T) {
	n := testkit.StartNode(t, testkit.Options{})
	start := time.Now().Add(3 * time.Second).UTC()
	n.MustCreateDrop(t, testkit.DropRequest{ID: "fair", Name: "Fair", Stock: 4, StartsAt: &start, AdmitPerSecond: 1000})
	var d floodgate.Drop
	mustGet(t, n, "/api/v1/drops/fair", &d)
	if len(d.ShuffleCommitment) != 64 {
		t.Fatalf("the drop shows no shuffle commitment: %+v", d.DropFairness)
	}
	var before fairnessDoc
	mustGet(t, n, "/api/v1/drops/fair/fairness", &before)
	if before.Revealed || before.Seed != "" || before.ShuffleCommitment != d.ShuffleCommitment {
		t.Fatalf("before the opening the fairness answer shows %+v", before)
	}
	// Six early arrivals, then the opening.
	var tickets []testkit.Ticket
	for range 6 {
		tickets = append(tickets, n.MustJoin(t, "fair"))
	}
	time.Sleep(time.Until(start) + 300*time.Millisecond)
	var after fairnessDoc
	mustGet(t, n, "/api/v1/drops/fair/fairness", &after)
	seed, _ := hex.DecodeString(after.Seed)
	if !after.Revealed || sale.Commitment(seed) != d.ShuffleCommitment || after.EarlyTotal == nil || *after.EarlyTotal != 6 {
		t.Fatalf("after the opening: %+v", after)
	}
	// The positions the queue gives are the ones the seed computes.
	for i, tk := range tickets {
		st, err := n.QueueStatus(context.Background(), "fair", tk.Ticket)
		if err != nil {
			t.Fatal(err)
		}
		if want := sale.Rank(seed, int64(i), 6) + 1; st.Position != want {
			t.Fatalf("early arrival %d is at %d; the revealed seed puts it at %d", i, st.Position, want)
		}
	}
	var keys fairness.JWKS
	mustGet(t, n, "/.well-known/jwks.json", &keys)
	var head1 struct{ Signed string }
	mustGet(t, n, "/api/v1/drops/fair/log/head", &head1)
	// The four first in the shuffled order buy, in their order.
	ranking := sale.Ranking(seed, 6)
	var orders []floodgate.Order
	for _, i := range ranking[:4] {
		tk := tickets[i]
		n.MustWaitAdmitted(t, "fair", tk.Ticket)
		h := n.MustHold(t, "fair", tk.Ticket, 1)
		o := n.MustOrder(t, h.ID, tk.Ticket, n.MustSession(t, fmt.Sprintf("b%d@example.com", i)), fmt.Sprintf("k%d", i))
		orders = append(orders, o)
	}
	// Receipts verify with the JWKS alone, and say where the buyer stood.
	for r, o := range orders {
		i := ranking[r]
		rc, err := fairness.VerifyReceipt(keys, o.Receipt)
		if err != nil {
			t.Fatalf("receipt of %s: %v", o.ID, err)
		}
		if rc.Order != o.ID || rc.Drop != "fair" || rc.CustomerHash != sale.CustomerHash("fair", fmt.Sprintf("b%d@example.com", i)) ||
			rc.Position != int64(r+1) || !*rc.Early || *rc.Seq != i {
			t.Fatalf("receipt of %s says %+v", o.ID, rc.Leaf)
		}
	}
	// Read later (the buyer's page), the order carries the deterministic
	// receipt, the same bytes at every read; the answer to the order was
	// signed from a nonce prepared ahead, other bytes as a rule. Both sign
	// the same leaf; floodgate verify accepts either below.
	var me, meAgain struct{ Order floodgate.Order }
	for _, m := range []any{&me, &meAgain} {
		if _, err := n.Call(testkit.Context(t, 10*time.Second), http.MethodGet, "/api/v1/drops/fair/me", testkit.Bearer(tickets[ranking[2]].Ticket), nil, m); err != nil {
			t.Fatal(err)
		}
	}
	if me.Order.Receipt != meAgain.Order.Receipt {
		t.Fatalf("two reads of one order, two receipts:\n%s\n%s", me.Order.Receipt, meAgain.Order.Receipt)
	}
	first, _ := fairness.VerifyReceipt(keys, orders[2].Receipt)
	again, err := fairness.VerifyReceipt(keys, me.Order.Receipt)
	if err != nil || me.Order.ID != orders[2].ID || string(again.Payload) != string(first.Payload) {
		t.Fatalf("the order asked again: %s, receipt %+v %v; want %s's leaf %s", me.Order.ID, again.Leaf, err, orders[2].ID, first.Payload)
	}
	t.Logf("the order's answer and a read of it, the same receipt bytes: %v", me.Order.Receipt == orders[2].Receipt)

	// Inclusion of every receipt, and consistency of an earlier head with
	// the current one, checked here with the proofs the server gives.
	var head2 struct{ Signed string }
	mustGet(t, n, "/api/v1/drops/fair/log/head", &head2)
	h1, err := fairness.VerifyHead(keys, head1.Signed)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := fairness.VerifyHead(keys, head2.Signed)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range orders {
		r, _ := fairness.VerifyReceipt(keys, o.Receipt)
		var p struct{ Proof []string }
		mustGet(t, n, fmt.Sprintf("/api/v1/drops/fair/log/proof?order=%s&size=%d", o.ID, h2.TreeSize), &p)
		hs, _ := fairness.ParseHashes(p.Proof)
		if err := fairness.VerifyInclusion(r.LogIndex, h2.TreeSize, fairness.LeafHash(r.Payload), hs, h2.Root()); err != nil {
			t.Fatalf("inclusion of %s: %v", o.ID, err)
		}
	}
	var cp struct{ Proof []string }
	mustGet(t, n, fmt.Sprintf("/api/v1/drops/fair/log/consistency?from=%d&to=%d", h1.TreeSize, h2.TreeSize), &cp)
	hs, _ := fairness.ParseHashes(cp.Proof)
	if h1.TreeSize >= h2.TreeSize {
		t.Fatalf("the log did not grow: %d then %d leaves", h1.TreeSize, h2.TreeSize)
	}
	if err := fairness.VerifyConsistency(h1.TreeSize, h2.TreeSize, hs, h1.Root(), h2.Root()); err != nil {
		t.Fatalf("consistency %d→%d: %v", h1.TreeSize, h2.TreeSize, err)
	}
	if err := fairness.VerifyConsistency(h1.TreeSize, h2.TreeSize, hs, h2.Root(), h1.Root()); err == nil {
		t.Fatal("a consistency proof verified with the roots swapped")
	}

	dir := t.TempDir()
	receiptFile := filepath.Join(dir, "order.json")
	b, _ := json.Marshal(orders[2])
	if err := os.WriteFile(receiptFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, ok := runVerify(t, n.URL, "fair", receiptFile)
	t.Logf("floodgate verify:\n%s", out)
	if !ok || !strings.Contains(out, "every check passed") || !strings.Contains(out, "receipt of order "+orders[2].ID) {
		t.Fatalf("floodgate verify of an honest server failed:\n%s", out)
	}
	againFile := filepath.Join(dir, "again.jws")
	if err := os.WriteFile(againFile, []byte(me.Order.Receipt+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, ok := runVerify(t, n.URL, "fair", againFile); !ok || !strings.Contains(out, "receipt of order "+orders[2].ID) {
		t.Fatalf("floodgate verify of the receipt read later failed:\n%s", out)
	}

	// A dishonest server is caught.
	t.Run("tampered log", func(t *testing.T) {
		target := tamperProxy(t, n, "/log/entries", func(b []byte) []byte {
			var page struct {
				Entries []struct {
					Index int64  `json:"index"`
					Data  string `json:"data"`
				} `json:"entries"`
			}
			_ = json.Unmarshal(b, &page)
			for i, e := range page.Entries {
				leaf, _ := base64.StdEncoding.DecodeString(e.Data)
				if bytes.Contains(leaf, []byte(`"type":"order"`)) {
					leaf = bytes.Replace(leaf, []byte(`"quantity":1`), []byte(`"quantity":2`), 1)
					page.Entries[i].Data = base64.StdEncoding.EncodeToString(leaf)
					break
				}
			}
			out, _ := json.Marshal(page)
			return out
		})
		out, ok := runVerify(t, target, "fair", "")
		if ok || !strings.Contains(out, "MISMATCH") || !strings.Contains(out, "the log was altered") {
			t.Fatalf("floodgate verify did not catch a tampered log:\n%s", out)
		}
	})
	t.Run("wrong seed", func(t *testing.T) {
		target := tamperProxy(t, n, "/fairness", func(b []byte) []byte {
			return bytes.Replace(b, []byte(after.Seed), []byte(strings.Repeat("ab", 32)), 1)
		})
		out, ok := runVerify(t, target, "fair", "")
		if ok || !strings.Contains(out, "MISMATCH") || !strings.Contains(out, "not the one committed") {
			t.Fatalf("floodgate verify did not catch a wrong seed:\n%s", out)
		}
	})
	t.Run("forged receipt", func(t *testing.T) {
		parts := strings.Split(orders[1].Receipt, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		payload = bytes.Replace(payload, []byte(`"position":2`), []byte(`"position":1`), 1)
		forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
		if _, err := fairness.VerifyReceipt(keys, forged); err == nil {
			t.Fatal("a forged receipt verified with the JWKS")
		}
		f := filepath.Join(dir, "forged.jws")
		if err := os.WriteFile(f, []byte(forged), 0o600); err != nil {
			t.Fatal(err)
		}
		out, ok := runVerify(t, n.URL, "fair", f)
		if ok || !strings.Contains(out, "MISMATCH") || !strings.Contains(out, "signature") {
			t.Fatalf("floodgate verify did not catch a forged receipt:\n%s", out)
		}
	})

	// The close publishes a final head, consistent with everything before.
	ctx := testkit.Context(t, 10*time.Second)
	if _, err := n.Call(ctx, http.MethodPost, "/api/v1/drops/fair/close", testkit.Bearer(n.AdminToken), nil, nil); err != nil {
		t.Fatal(err)
	}
	var heads struct {
		Heads []struct {
			Signed string `json:"signed"`
			Final  bool   `json:"final"`
		} `json:"heads"`
	}
	mustGet(t, n, "/api/v1/drops/fair/log/heads", &heads)
	if len(heads.Heads) == 0 || !heads.Heads[len(heads.Heads)-1].Final {
		t.Fatalf("no final head after the close: %+v", heads)
	}
	// The fairness answer's head is that same final head, byte for byte.
	var closed fairnessDoc
	mustGet(t, n, "/api/v1/drops/fair/fairness", &closed)
	if closed.Log.Signed != heads.Heads[len(heads.Heads)-1].Signed {
		t.Fatalf("after the close the fairness answer's head differs from the final published head")
	}
	if out, ok := runVerify(t, n.URL, "fair", receiptFile); !ok {
		t.Fatalf("floodgate verify after the close:\n%s", out)
	}
}

type entryAnswer struct {
	State   string `json:"state"`
	Entry   int64  `json:"entry"`
	Rank    int64  `json:"rank"`
	Ticket  string `json:"ticket"`
	Order   string `json:"order"`
	ClaimBy string `json:"claim_by"`
}

// TestDrawIsReproducible: entrants enter a draw once each; at entry_ends_at
// the committed seed draws the winners, who claim through the normal hold
// and order path; the others learn they were not drawn; floodgate verify
// recomputes the same winners from the revealed seed.
func TestDrawIsReproducible(t *testing.T) {
	mb := testkit.StartSMTP(t)
	n := testkit.StartNode(t, testkit.Options{Args: []string{"--smtp-addr", mb.Addr, "--smtp-from", "draws@example.com"}})
	ctx := testkit.Context(t, 60*time.Second)
	ends := time.Now().Add(3 * time.Second).UTC()
	body := map[string]any{"id": "raffle", "name": "Raffle", "stock": 2, "mode": "draw", "entry_ends_at": ends, "claim_seconds": 60}
	var d floodgate.Drop
	if _, err := n.Call(ctx, http.MethodPost, "/api/v1/drops", testkit.Bearer(n.AdminToken), body, &d); err != nil {
		t.Fatal(err)
	}
	if d.Mode != "draw" || d.ShuffleCommitment == "" {
		t.Fatalf("draw drop %+v", d.DropFairness)
	}
	// A draw has no queue.
	if _, err := n.Join(ctx, "raffle"); testkit.Code(err) != floodgate.EConflict {
		t.Fatalf("joining a draw's queue: %v", err)
	}
	var sessions []string
	for i := range 5 {
		s := n.MustSession(t, fmt.Sprintf("e%d@example.com", i))
		sessions = append(sessions, s)
		var e entryAnswer
		st, err := n.Call(ctx, http.MethodPost, "/api/v1/drops/raffle/entries", nil, map[string]string{"session": s}, &e)
		if err != nil || st != http.StatusCreated || e.Entry != int64(i) || e.State != sale.EntryPending {
			t.Fatalf("entry %d: %d %+v %v", i, st, e, err)
		}
	}
	if st, err := n.Call(ctx, http.MethodPost, "/api/v1/drops/raffle/entries", nil, map[string]string{"session": sessions[0]}, nil); err != nil || st != http.StatusOK {
		t.Fatalf("entering twice: %d %v", st, err)
	}
	me := func(i int) entryAnswer {
		var e entryAnswer
		if _, err := n.Call(ctx, http.MethodGet, "/api/v1/drops/raffle/entries/me", testkit.Bearer(sessions[i]), nil, &e); err != nil {
			t.Fatalf("entries/me of %d: %v", i, err)
		}
		return e
	}
	time.Sleep(time.Until(ends))
	for me(0).State == sale.EntryPending {
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := n.Call(ctx, http.MethodPost, "/api/v1/drops/raffle/entries", nil, map[string]string{"session": n.MustSession(t, "late@example.com")}, nil); testkit.Code(err) != floodgate.EConflict {
		t.Fatalf("an entry after entry_ends_at: %v", err)
	}
	var f fairnessDoc
	mustGet(t, n, "/api/v1/drops/raffle/fairness", &f)
	seed, _ := hex.DecodeString(f.Seed)
	if sale.Commitment(seed) != d.ShuffleCommitment {
		t.Fatal("the revealed seed is not the committed one")
	}
	ranking := sale.Ranking(seed, 5)
	for r, i := range ranking {
		e := me(int(i))
		want := sale.EntryBackup
		if r < 2 {
			want = sale.EntryWon
		}
		if e.State != want || e.Rank != int64(r+1) {
			t.Fatalf("entrant %d of rank %d: %+v, want %s", i, r+1, e, want)
		}
	}
	// Each entrant hears of the draw by email as well.
	wantMail := map[string]string{}
	for r, i := range ranking {
		to := fmt.Sprintf("e%d@example.com", i)
		if r < 2 {
			wantMail[to+" won"] = "You were drawn for Raffle"
		} else {
			wantMail[to+" backup"] = "You are backup rank"
			wantMail[to+" lost"] = "You were not drawn for Raffle"
		}
	}
	testkit.WaitFor(t, "the draw results by email", func() bool { return len(drawResults(t, mb)) >= 5 })
	// The winners claim with the ticket they are given, through the normal
	// hold and order calls, without queueing.
	for _, i := range ranking[:2] {
		e := me(int(i))
		h := n.MustHold(t, "raffle", e.Ticket, 1)
		n.MustOrder(t, h.ID, e.Ticket, sessions[i], fmt.Sprintf("draw-%d", i))
		if got := me(int(i)); got.State != sale.EntryOrdered || got.Order == "" {
			t.Fatalf("winner after ordering: %+v", got)
		}
	}
	for _, i := range ranking[2:] {
		if e := me(int(i)); e.State != sale.EntryLost {
			t.Fatalf("entrant %d after the sell-out: %+v", i, e)
		}
	}
	// Every entrant is told by email too, each result once: the winners that
	// they won, the others that they were backups and then not drawn.
	testkit.WaitFor(t, "the not-drawn emails", func() bool { return len(drawResults(t, mb)) >= 8 })
	got := drawResults(t, mb)
	for k, text := range wantMail {
		if !strings.Contains(got[k], text) {
			t.Errorf("email %q: %q, want it to say %q", k, got[k], text)
		}
	}
	if len(got) != len(wantMail) {
		t.Errorf("%d distinct emails, want %d: %v", len(got), len(wantMail), got)
	}
	out, ok := runVerify(t, n.URL, "raffle", "")
	want := fmt.Sprintf("winners are entries %v", ranking[:2])
	if !ok || !strings.Contains(out, want) {
		t.Fatalf("floodgate verify does not reproduce the draw (%s):\n%s", want, out)
	}
}

// TestPresaleLetsOnlyTheInvitedIn: until presale_until only a customer on
// the list or the holder of an unused one-time code gets a ticket.
func TestPresaleLetsOnlyTheInvitedIn(t *testing.T) {
	n := testkit.StartNode(t, testkit.Options{})
	ctx := testkit.Context(t, 30*time.Second)
	until := time.Now().Add(time.Hour).UTC()
	body := map[string]any{"id": "pre", "name": "Presale", "stock": 10, "presale_until": until,
		"presale_customers": []string{"VIP@example.com"}, "presale_codes": []string{"CODE-0001"}}
	if _, err := n.Call(ctx, http.MethodPost, "/api/v1/drops", testkit.Bearer(n.AdminToken), body, nil); err != nil {
		t.Fatal(err)
	}
	join := func(presale map[string]string) (int, error) {
		var in any
		if presale != nil {
			in = map[string]any{"presale": presale}
		}
		return n.Call(ctx, http.MethodPost, "/api/v1/drops/pre/queue", nil, in, nil)
	}
	for name, c := range map[string]struct {
		presale map[string]string
		status  int
	}{
		"nobody":         {nil, http.StatusForbidden},
		"not invited":    {map[string]string{"session": n.MustSession(t, "other@example.com")}, http.StatusForbidden},
		"a wrong code":   {map[string]string{"code": "CODE-9999"}, http.StatusForbidden},
		"the invited":    {map[string]string{"session": n.MustSession(t, "vip@example.com")}, http.StatusCreated},
		"a bad session":  {map[string]string{"session": "forged"}, http.StatusUnauthorized},
		"invited, again": {map[string]string{"session": n.MustSession(t, "vip@example.com")}, http.StatusCreated},
	} {
		if st, _ := join(c.presale); st != c.status {
			t.Errorf("%s: %d, want %d", name, st, c.status)
		}
	}
	if st, err := join(map[string]string{"code": "CODE-0001"}); st != http.StatusCreated {
		t.Fatalf("a one-time code: %d %v", st, err)
	}
	if st, _ := join(map[string]string{"code": "CODE-0001"}); st != http.StatusForbidden {
		t.Fatalf("the same code twice: %d", st)
	}
}

// drawResults maps "recipient state" to the body of the email about it; two
// emails for the same result fail the test.
func drawResults(t *testing.T, mb *testkit.Mailbox) map[string]string {
	t.Helper()
	msgs := mb.Messages()
	out := map[string]string{}
	for _, m := range msgs {
		msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatalf("a malformed email: %v", err)
		}
		body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
		subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		state := ""
		switch {
		case strings.Contains(subject, "You won"):
			state = "won"
		case strings.Contains(subject, "backup"):
			state = "backup"
		case strings.Contains(subject, "Not drawn"):
			state = "lost"
		default:
			continue
		}
		for _, to := range m.To {
			k := to + " " + state
			if _, dup := out[k]; dup {
				t.Fatalf("%s was told %q twice", to, state)
			}
			out[k] = string(body)
		}
	}
	return out
}

// TestDrawEntryPaysTheJoinChallenge: a new entry pays the drop's join
// challenge like a queue join; entering again does not.
func TestDrawEntryPaysTheJoinChallenge(t *testing.T) {
	n := testkit.StartNode(t, testkit.Options{})
	ctx := testkit.Context(t, 30*time.Second)
	body := map[string]any{"id": "hard", "name": "Hard", "stock": 1, "mode": "draw",
		"entry_ends_at": time.Now().Add(time.Hour).UTC(), "challenge_difficulty": 8}
	if _, err := n.Call(ctx, http.MethodPost, "/api/v1/drops", testkit.Bearer(n.AdminToken), body, nil); err != nil {
		t.Fatal(err)
	}
	s := n.MustSession(t, "c@example.com")
	enter := func(in any) *testkit.Response {
		b, _ := json.Marshal(in)
		resp, err := n.Do(ctx, http.MethodPost, "/api/v1/drops/hard/entries", nil, b)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := enter(map[string]any{"session": s})
	if resp.Status != http.StatusPreconditionRequired {
		t.Fatalf("an entry without a solution: %d %s", resp.Status, resp.Body)
	}
	ch, err := testkit.ParseChallenge(resp)
	if err != nil || ch.Difficulty != 8 {
		t.Fatalf("challenge %+v %v", ch, err)
	}
	if resp := enter(map[string]any{"session": s, "challenge": map[string]string{"id": ch.ID, "nonce": testkit.WrongNonce(ch)}}); resp.Status != http.StatusBadRequest {
		t.Fatalf("a wrong solution: %d %s", resp.Status, resp.Body)
	}
	sol := map[string]any{"session": s, "challenge": map[string]string{"id": ch.ID, "nonce": testkit.Solve(ch)}}
	if resp := enter(sol); resp.Status != http.StatusCreated {
		t.Fatalf("a solved entry: %d %s", resp.Status, resp.Body)
	}
	if resp := enter(map[string]any{"session": s}); resp.Status != http.StatusOK {
		t.Fatalf("entering again: %d %s", resp.Status, resp.Body)
	}
}
