package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testkit/chrome"
	"github.com/floodgate/floodgate/web"
)

// TestE2EJoinChallengeSolvedInTheBrowser joins a drop whose join challenge
// asks for work, in Korean and in English: the page solves it in a Web
// Worker, tells a screen reader how far it is, and gets its ticket.
func TestE2EJoinChallengeSolvedInTheBrowser(t *testing.T) {
	n := startNode(t, "")
	const drop = "pow-speaker"
	n.createDrop(dropSpec{ID: drop, Stock: 20, ChallengeDifficulty: 16})
	// Without a solution the API refuses a ticket.
	var refused map[string]any
	if code := n.call("POST", "/api/v1/drops/"+drop+"/queue", "", nil, &refused); code != 428 {
		t.Fatalf("join without a solution: %d %v, want 428", code, refused)
	}
	for _, tc := range []struct{ lang, done string }{
		{"ko-KR", web.T("ko", "pow_done")},
		{"en-US", web.T("en", "pow_done")},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			b := newBrowser(t, tc.lang)
			b.Do("open the drop", chromedp.Navigate(n.URL+"/d/"+drop))
			b.Visible("#join")
			if live := chrome.Eval[string](b, `document.getElementById("pow-live").getAttribute("aria-live")`); live != "polite" {
				t.Fatalf("the challenge's live region has aria-live %q, want polite", live)
			}
			b.Click("#join")
			// The drop is open and admits at once: the ticket leads to the
			// waiting room or straight to the turn.
			testkit.WaitFor(t, "a ticket from the solved challenge", func() bool { return b.Cookie("fg_ticket_"+drop) != "" })
			testkit.WaitFor(t, "the waiting room or the turn", func() bool {
				return chrome.Eval[bool](b, `!document.getElementById("view-waiting").hidden || !document.getElementById("view-turn").hidden`)
			})
			if got := chrome.Eval[string](b, `document.getElementById("pow-live").textContent`); got != tc.done {
				t.Errorf("the live region says %q, want %q", got, tc.done)
			}
			if !chrome.Eval[bool](b, `document.getElementById("pow").hidden`) {
				t.Error("the progress of the challenge is still shown in the waiting room")
			}
			used := chrome.Eval[string](b, `performance.getEntriesByType("resource").map(function (e) { return e.name; }).join(" ")`)
			if !strings.Contains(used, "/static/pow.js") {
				t.Errorf("the page did not load the solver worker; resources: %s", used)
			}
		})
	}
}
