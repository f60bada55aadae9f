package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/testkit"
)

// TestLogoutRevokesTheSession: after logout, the session token (a copy
// taken before, say) no longer orders; the hold is kept and a new sign-in
// orders it.
func TestLogoutRevokesTheSession(t *testing.T) {
	n := testkit.StartNode(t, testkit.Options{})
	n.MustCreateDrop(t, testkit.DropRequest{ID: "out", Name: "Out", Stock: 3, AdmitPerSecond: 100})
	ctx := testkit.Context(t, 60*time.Second)
	tk := n.MustJoin(t, "out")
	n.MustWaitAdmitted(t, "out", tk.Ticket)
	h := n.MustHold(t, "out", tk.Ticket, 1)
	sess := n.MustSession(t, "leaving@example.com")

	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, n.URL+"/logout", strings.NewReader("return=%2Fd%2Fout"))
	req.Header.Set("Cookie", "fg_session="+sess)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(strings.Join(resp.Header.Values("Set-Cookie"), ";"), "fg_session=;") {
		t.Fatalf("logout: %d %v", resp.StatusCode, resp.Header)
	}
	_, _, err = n.Order(ctx, h.ID, tk.Ticket, sess, "k-1")
	if testkit.Code(err) != floodgate.EUnauthenticated {
		t.Fatalf("an order with the session after logout: %v, want unauthenticated", err)
	}
	o := n.MustOrder(t, h.ID, tk.Ticket, n.MustSession(t, "leaving@example.com"), "k-2")
	if o.HoldID != h.ID {
		t.Fatalf("after signing in again: %+v", o)
	}
}
