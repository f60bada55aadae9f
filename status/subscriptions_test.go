package status

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// mail is one message as a reader sees it.
type readMail struct {
	to, subject, body string
	header            mail.Header
}

func readMails(t *testing.T, mb *testkit.Mailbox) []readMail {
	t.Helper()
	var out []readMail
	for _, m := range mb.Messages() {
		msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatalf("a message does not parse: %v", err)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		if err != nil {
			t.Fatal(err)
		}
		subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		out = append(out, readMail{to: strings.Join(m.To, ","), subject: subj, body: string(body), header: msg.Header})
	}
	return out
}

func mailsTo(ms []readMail, to string) []readMail {
	var out []readMail
	for _, m := range ms {
		if m.to == to {
			out = append(out, m)
		}
	}
	return out
}

var confirmLinkRE = regexp.MustCompile(`https?://\S+/api/v1/subscriptions/confirm/[0-9a-f]+`)

// startPublic starts a Service whose PublicURL is the test server it is
// served on, so the links in messages can be followed.
func startPublic(t *testing.T, mod func(*Config)) (*Service, string, *testkit.Mailbox) {
	t.Helper()
	mb := testkit.StartSMTP(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	s, _ := MustOpen(t, func(c *Config) {
		c.PublicURL = base
		c.SMTP = SMTPConfig{Addr: mb.Addr, From: "status@floodgate.test"}
		if mod != nil {
			mod(c)
		}
	})
	srv := httptest.NewUnstartedServer(s.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return s, base, mb
}

func TestDoubleOptInByEmail(t *testing.T) {
	s, base, mb := startPublic(t, nil)
	subscribe := func(target string, comps ...string) int {
		return doJSON(t, "POST", base+"/api/v1/subscriptions", "", map[string]any{"channel": "email", "target": target, "components": comps}, nil)
	}
	for _, req := range []struct {
		target string
		comps  []string
	}{{"checkout-fan@example.com", []string{"checkout"}}, {"all@example.com", nil}, {"never@example.com", nil}} {
		if code := subscribe(req.target, req.comps...); code != http.StatusAccepted {
			t.Fatalf("subscribe %s: %d", req.target, code)
		}
	}
	// Bad input is refused with the error shape.
	var e map[string]any
	if code := doJSON(t, "POST", base+"/api/v1/subscriptions", "", map[string]any{"channel": "webhook", "target": "https://x.example"}, &e); code != 400 || errorCode(e) != "invalid_argument" {
		t.Fatalf("a webhook via the public call: %d %v", code, e)
	}
	if code := doJSON(t, "POST", base+"/api/v1/subscriptions", "", map[string]any{"channel": "email", "target": "a@example.com", "components": []string{"nope"}}, &e); code != 400 {
		t.Fatalf("an unknown component: %d", code)
	}
	testkit.WaitFor(t, "three confirmation messages", func() bool { return len(mb.Messages()) == 3 })

	// An incident before anyone confirms reaches nobody.
	if _, err := s.CreateIncident(IncidentInput{Name: "Checkout is slow", Impact: ImpactMinor, Message: "Slow.", Components: []string{"checkout"}}); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the outbox to drain", func() bool { return s.OutboxLen() == 0 })
	time.Sleep(200 * time.Millisecond)
	ms := readMails(t, mb)
	if len(ms) != 3 {
		t.Fatalf("%d messages before any confirmation, want only the 3 confirmations", len(ms))
	}
	links := map[string]string{}
	for _, m := range ms {
		if !strings.Contains(m.subject, "Confirm") {
			t.Fatalf("a message before confirmation is not a confirmation: %q", m.subject)
		}
		link := confirmLinkRE.FindString(m.body)
		if link == "" {
			t.Fatalf("no confirmation link in %q", m.body)
		}
		links[m.to] = link
	}

	// Following the link: GET shows a button (scanners open links), POST confirms.
	resp, page := testkit.MustGet(t, links["checkout-fan@example.com"])
	if resp.StatusCode != 200 || !strings.Contains(page, "<form") {
		t.Fatalf("the confirmation page: %d %s", resp.StatusCode, page)
	}
	for _, who := range []string{"checkout-fan@example.com", "all@example.com"} {
		if code := doJSON(t, "POST", links[who], "", nil, nil); code != 200 {
			t.Fatalf("confirm %s: %d", who, code)
		}
	}
	if code := doJSON(t, "POST", links["all@example.com"], "", nil, &e); code != 404 {
		t.Fatalf("a used confirmation link: %d", code)
	}

	// Component filters: a login incident reaches only the subscriber of
	// everything; a checkout incident reaches both.
	if _, err := s.CreateIncident(IncidentInput{Name: "Login fails", Impact: ImpactMajor, Message: "Sign-in fails.", Components: []string{"login"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateIncident(IncidentInput{Name: "Checkout fails", Impact: ImpactMajor, Message: "Orders fail.", Components: []string{"checkout"}}); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "three notices", func() bool { return len(mb.Messages()) == 6 && s.OutboxLen() == 0 })
	time.Sleep(200 * time.Millisecond)
	ms = readMails(t, mb)
	fan, all, never := mailsTo(ms, "checkout-fan@example.com"), mailsTo(ms, "all@example.com"), mailsTo(ms, "never@example.com")
	if len(fan) != 2 || !strings.Contains(fan[1].subject, "Checkout fails") {
		t.Fatalf("the checkout subscriber got %d messages (%v), want the confirmation and the checkout incident", len(fan), subjects(fan))
	}
	if len(all) != 3 {
		t.Fatalf("the subscriber of everything got %v", subjects(all))
	}
	if len(never) != 1 {
		t.Fatalf("the unconfirmed address got %v, want only its confirmation", subjects(never))
	}
	// Every notice has an unsubscribe link and RFC 8058 one-click headers.
	for _, m := range append(fan[1:], all[1:]...) {
		lu, lup := m.header.Get("List-Unsubscribe"), m.header.Get("List-Unsubscribe-Post")
		if !strings.HasPrefix(lu, "<"+base+"/api/v1/unsubscribe/") || lup != "List-Unsubscribe=One-Click" {
			t.Fatalf("notice %q: List-Unsubscribe %q, List-Unsubscribe-Post %q", m.subject, lu, lup)
		}
		if !strings.Contains(m.body, base+"/api/v1/unsubscribe/") {
			t.Fatalf("notice %q has no unsubscribe link in its text", m.subject)
		}
	}

	// One-click unsubscribe, as a mail client does it.
	u := strings.Trim(fan[1].header.Get("List-Unsubscribe"), "<>")
	r, err := http.Post(u, "application/x-www-form-urlencoded", strings.NewReader(url.Values{"List-Unsubscribe": {"One-Click"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Fatalf("one-click unsubscribe: %d", r.StatusCode)
	}
	if _, err := s.CreateIncident(IncidentInput{Name: "Checkout fails again", Impact: ImpactMajor, Message: "Orders fail.", Components: []string{"checkout"}}); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the notice to the remaining subscriber", func() bool { return len(mb.Messages()) == 7 && s.OutboxLen() == 0 })
	time.Sleep(200 * time.Millisecond)
	if n := len(mailsTo(readMails(t, mb), "checkout-fan@example.com")); n != 2 {
		t.Fatalf("the unsubscribed address got %d messages, want no new one", n)
	}
}

func subjects(ms []readMail) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.subject)
	}
	return out
}

func TestPendingSubscriptionsExpireAndAreRateLimited(t *testing.T) {
	clock := newFakeClock()
	s, base, mb := startPublic(t, func(c *Config) { c.Now = clock.Now; c.SubscribesPerIP = 5 })
	sub := func(target string) (int, map[string]any) {
		var e map[string]any
		code := doJSON(t, "POST", base+"/api/v1/subscriptions", "", map[string]any{"channel": "email", "target": target}, &e)
		return code, e
	}
	// Per target: three confirmations a day, then 429.
	for i := range 3 {
		if code, _ := sub("again@example.com"); code != http.StatusAccepted {
			t.Fatalf("request %d: %d", i+1, code)
		}
	}
	if code, e := sub("again@example.com"); code != http.StatusTooManyRequests || errorCode(e) != "rate_limited" {
		t.Fatalf("a fourth confirmation to one target: %d %v", code, e)
	}
	// Per address: five requests an hour from one client, then 429.
	if code, _ := sub("other@example.com"); code != http.StatusAccepted {
		t.Fatalf("fifth request: %d", code)
	}
	if code, e := sub("third@example.com"); code != http.StatusTooManyRequests || errorCode(e) != "rate_limited" {
		t.Fatalf("a sixth request from one address: %d %v", code, e)
	}
	testkit.WaitFor(t, "the confirmations", func() bool { return len(mb.Messages()) == 4 })
	if len(s.Subscribers()) != 2 {
		t.Fatalf("%d pending subscribers, want 2", len(s.Subscribers()))
	}
	link := confirmLinkRE.FindString(readMails(t, mb)[0].body)

	// A day later the pending requests are gone and the link is dead.
	clock.Add(DefaultPendingTTL + time.Minute)
	testkit.WaitFor(t, "pending subscriptions to expire", func() bool { return len(s.Subscribers()) == 0 })
	if code := doJSON(t, "POST", link, "", nil, nil); code != http.StatusNotFound {
		t.Fatalf("an expired confirmation link: %d", code)
	}
}

func TestSubscribeFormOnThePage(t *testing.T) {
	s, base, mb := startPublic(t, nil)
	_, page := testkit.MustGet(t, base+"/status")
	for _, want := range []string{`action="` + base + `/api/v1/subscriptions"`, `name="target"`, `value="checkout"`, "구독하기", "Subscribe"} {
		if !strings.Contains(page, want) {
			t.Fatalf("the page lacks %q", want)
		}
	}
	// The form posts urlencoded and gets an HTML answer.
	form := url.Values{"channel": {"sms"}, "target": {"+82 10-1234-5678"}, "components": {"checkout", "login"}}
	r, err := http.PostForm(base+"/api/v1/subscriptions", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusAccepted || !strings.Contains(string(body), "확인 메시지를 보냈습니다") {
		t.Fatalf("form answer %d: %s", r.StatusCode, body)
	}
	subs := s.Subscribers()
	if len(subs) != 1 || !subs[0].Pending || subs[0].Target != "+821012345678" || len(subs[0].Components) != 2 {
		t.Fatalf("subscribers after the form: %+v", subs)
	}
	_ = mb
}

func TestNoFormWithoutAPublicURL(t *testing.T) {
	s, _ := MustOpen(t, func(c *Config) { c.PublicURL = "" })
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	if _, page := testkit.MustGet(t, srv.URL+"/status"); strings.Contains(page, "<form") {
		t.Fatal("the page offers a subscribe form although confirmation links could not be made")
	}
	var e map[string]any
	if code := doJSON(t, "POST", srv.URL+"/api/v1/subscriptions", "", map[string]any{"channel": "email", "target": "a@example.com"}, &e); code != http.StatusNotFound || errorCode(e) != "not_found" {
		t.Fatalf("subscribing without a public URL: %d %v", code, e)
	}
}

// TestSubscriptionLimitCountsAnIPv6Slash64: the per-address limit counts an
// IPv6 client by its /64, as every other limit does: a client that takes a
// new address of its /64 for every request is still one client.
func TestSubscriptionLimitCountsAnIPv6Slash64(t *testing.T) {
	_, base, _ := startPublic(t, func(c *Config) {
		c.SubscribesPerIP = 3
		c.ClientIP = func(r *http.Request) netip.Addr { return netip.MustParseAddr(r.Header.Get("X-Test-Client")) }
	})
	sub := func(client, target string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/subscriptions", strings.NewReader(`{"channel":"email","target":"`+target+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Test-Client", client)
		resp, body := testkit.MustDo(t, http.DefaultClient, req)
		var e map[string]any
		_ = json.Unmarshal([]byte(body), &e)
		return resp.StatusCode, e
	}
	for i := range 3 {
		if code, e := sub(fmt.Sprintf("2001:db8:1:2::%x", i+1), fmt.Sprintf("v6-%d@example.com", i)); code != http.StatusAccepted {
			t.Fatalf("request %d from the /64: %d %v", i+1, code, e)
		}
	}
	if code, e := sub("2001:db8:1:2:ffff::9", "v6-4@example.com"); code != http.StatusTooManyRequests || errorCode(e) != "rate_limited" {
		t.Fatalf("a fourth request from another address of the same /64: %d %v, want 429 rate_limited", code, e)
	}
	if code, e := sub("2001:db8:1:3::1", "v6-5@example.com"); code != http.StatusAccepted {
		t.Fatalf("the next /64: %d %v", code, e)
	}
}
