package status

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// decodeMail returns the decoded subject and body of a raw message.
func decodeMail(t *testing.T, raw []byte) (subject, body string, hdr mail.Header) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("not a mail message: %v\n%s", err, raw)
	}
	dec := new(mime.WordDecoder)
	subject, err = dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return subject, string(b), msg.Header
}

func TestDeliveryToEveryChannel(t *testing.T) {
	webhook := newReceiver(t, 0)
	slack := newReceiver(t, 0)
	gateway := newReceiver(t, 0)
	mb := testkit.StartSMTP(t)
	s, _ := MustOpen(t, func(c *Config) {
		c.SMTP = SMTPConfig{Addr: mb.Addr, From: "status@floodgate.example"}
		c.SMS = SMSConfig{URL: gateway.URL + "/2010-04-01/Accounts/{account}/Messages.json", Account: "AC123", Token: "tok", From: "+15550001"}
	})
	const secret = "whsec-0123456789abcdef"
	subs := []SubscriberInput{
		{Channel: ChannelWebhook, Target: webhook.URL + "/hooks/floodgate", Secret: secret},
		{Channel: ChannelSlack, Target: slack.URL + "/services/T000/B000/XXXX"},
		{Channel: ChannelSMS, Target: "+82 10-1234-5678"},
		{Channel: ChannelEmail, Target: "maker@example.com"},
	}
	for _, in := range subs {
		if _, err := s.Subscribe(in); err != nil {
			t.Fatalf("subscribe %s: %v", in.Channel, err)
		}
	}
	inc, err := s.CreateIncident(IncidentInput{Name: "Checkout is failing", Status: StatusInvestigating, Impact: ImpactMajor,
		Message: "Orders fail after payment.", Components: []string{"checkout"}, Cause: "A database failover."})
	if err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "every channel to deliver", func() bool {
		return len(webhook.accepted()) == 1 && len(slack.accepted()) == 1 && len(gateway.accepted()) == 1 && len(mb.Messages()) == 1
	})

	// Webhook: signed, with the event id, and the Statuspage incident inside.
	w := webhook.accepted()[0]
	if err := VerifySignature(secret, w.Header.Get(SignatureHeader), w.Body, time.Now(), 5*time.Minute); err != nil {
		t.Fatalf("webhook signature: %v (header %q)", err, w.Header.Get(SignatureHeader))
	}
	if err := VerifySignature("wrong-secret-xxxxxxxx", w.Header.Get(SignatureHeader), w.Body, time.Now(), 0); !errors.Is(err, ErrSignatureInvalid) {
		t.Fatalf("a wrong secret must not verify, got %v", err)
	}
	var payload struct {
		ID       string     `json:"id"`
		Type     string     `json:"type"`
		Incident SPIncident `json:"incident"`
	}
	if err := json.Unmarshal(w.Body, &payload); err != nil {
		t.Fatal(err)
	}
	if payload.ID == "" || payload.ID != w.Header.Get("Floodgate-Event-Id") || payload.Type != EventIncidentCreated || payload.Incident.ID != inc.ID {
		t.Fatalf("webhook payload %+v, event header %q", payload, w.Header.Get("Floodgate-Event-Id"))
	}
	if payload.Incident.Floodgate == nil || payload.Incident.Floodgate.Cause != "A database failover." {
		t.Fatalf("the webhook must carry the cause: %+v", payload.Incident.Floodgate)
	}

	// Slack: an incoming-webhook JSON with text.
	var sl map[string]string
	if err := json.Unmarshal(slack.accepted()[0].Body, &sl); err != nil || !strings.Contains(sl["text"], "Checkout is failing") {
		t.Fatalf("slack body %s (%v)", slack.accepted()[0].Body, err)
	}

	// SMS: a Twilio-style form with basic auth.
	g := gateway.accepted()[0]
	if g.Path != "/2010-04-01/Accounts/AC123/Messages.json" || g.User != "AC123" || g.Pass != "tok" {
		t.Fatalf("sms gateway got path %q auth %q/%q", g.Path, g.User, g.Pass)
	}
	if g.Form["To"][0] != "+821012345678" || g.Form["From"][0] != "+15550001" || !strings.Contains(g.Form["Body"][0], "Checkout is failing") {
		t.Fatalf("sms form %v", g.Form)
	}

	// Email: through a real SMTP server, UTF-8 subject, the three facts.
	m := mb.Messages()[0]
	if len(m.To) != 1 || m.To[0] != "maker@example.com" || m.From != "status@floodgate.example" {
		t.Fatalf("mail envelope from %q to %v", m.From, m.To)
	}
	subject, body, hdr := decodeMail(t, m.Data)
	if !strings.Contains(subject, "조사 중") || !strings.Contains(subject, "Checkout is failing") {
		t.Fatalf("mail subject %q", subject)
	}
	for _, want := range []string{"Orders fail after payment.", "A database failover.", "대응 What we are doing", "Unsubscribe: https://status.example.com/api/v1/unsubscribe/"} {
		if !strings.Contains(body, want) {
			t.Fatalf("mail body lacks %q:\n%s", want, body)
		}
	}
	if hdr.Get("List-Unsubscribe") == "" {
		t.Fatal("mail has no List-Unsubscribe header")
	}

	// The delivery log has one successful attempt per channel.
	testkit.WaitFor(t, "the outbox to drain", func() bool { return s.OutboxLen() == 0 })
	log, err := s.st.recentLog(100)
	if err != nil {
		t.Fatal(err)
	}
	ok := map[string]int{}
	for _, e := range log {
		if e.OK {
			ok[e.Channel]++
		}
	}
	for _, ch := range []string{ChannelWebhook, ChannelSlack, ChannelSMS, ChannelEmail} {
		if ok[ch] != 1 {
			t.Fatalf("delivery log: %d successful %s deliveries, want 1 (%+v)", ok[ch], ch, log)
		}
	}
}

func TestRetriedDeliveryArrivesOncePerSubscriber(t *testing.T) {
	flaky := newReceiver(t, 2) // each path fails twice, then succeeds
	s, _ := MustOpen(t, nil)
	secrets := map[string]string{"/a": "secret-for-subscriber-a", "/b": "secret-for-subscriber-b"}
	for path, secret := range secrets {
		if _, err := s.Subscribe(SubscriberInput{Channel: ChannelWebhook, Target: flaky.URL + path, Secret: secret}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateIncident(IncidentInput{Name: "Login is slow", Impact: ImpactMinor, Message: "Sign-in takes long.", Components: []string{"login"}}); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "both subscribers to get the event", func() bool { return len(flaky.accepted()) == 2 && s.OutboxLen() == 0 })
	time.Sleep(150 * time.Millisecond) // a duplicate, if any, would arrive within a few retry periods
	byPath := map[string][]received{}
	for _, r := range flaky.all() {
		byPath[r.Path] = append(byPath[r.Path], r)
	}
	for path, secret := range secrets {
		reqs := byPath[path]
		if len(reqs) != 3 {
			t.Fatalf("%s got %d attempts, want 3 (two failures, one success)", path, len(reqs))
		}
		ok := 0
		for _, r := range reqs {
			if r.Header.Get("Floodgate-Event-Id") != reqs[0].Header.Get("Floodgate-Event-Id") {
				t.Fatalf("%s: retries carry different event ids", path)
			}
			if err := VerifySignature(secret, r.Header.Get(SignatureHeader), r.Body, time.Now(), time.Minute); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if r.Success {
				ok++
			}
		}
		if ok != 1 {
			t.Fatalf("%s accepted %d deliveries, want exactly 1", path, ok)
		}
	}
	if byPath["/a"][0].Header.Get("Floodgate-Event-Id") != byPath["/b"][0].Header.Get("Floodgate-Event-Id") {
		t.Fatal("both subscribers must see the same event id")
	}
	log, _ := s.st.recentLog(100)
	fails, oks := 0, 0
	for _, e := range log {
		if e.OK {
			oks++
		} else if !e.GaveUp {
			fails++
		}
	}
	if fails != 4 || oks != 2 {
		t.Fatalf("delivery log has %d failures and %d successes, want 4 and 2", fails, oks)
	}
}

func TestOutboxSurvivesRestart(t *testing.T) {
	// Reserve a port, then leave it closed: the first attempts fail.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	open := func() *Service {
		s, _ := MustOpen(t, func(c *Config) {
			c.DataDir = dir
			c.RetryBase = 20 * time.Millisecond
			c.RetryMax = 50 * time.Millisecond
		})
		return s
	}
	s := open()
	if _, err := s.Subscribe(SubscriberInput{Channel: ChannelWebhook, Target: "http://" + addr + "/hook", Secret: "0123456789abcdef"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateIncident(IncidentInput{Name: "Orders delayed", Impact: ImpactMinor, Message: "Order emails are late."}); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "a failed attempt", func() bool {
		log, _ := s.st.recentLog(10)
		return len(log) > 0
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// The receiver comes up on the same address; a new process resumes.
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s was taken meanwhile: %v", addr, err)
	}
	rc := &receiver{tries: map[string]int{}}
	rc.Server = newReceiverOn(t, ln, rc)
	s2 := open()
	testkit.WaitFor(t, "the queued delivery after restart", func() bool { return len(rc.accepted()) == 1 && s2.OutboxLen() == 0 })
	var p webhookPayload
	if err := json.Unmarshal(rc.accepted()[0].Body, &p); err != nil || p.Type != EventIncidentCreated || p.Incident.Name != "Orders delayed" {
		t.Fatalf("delivered after restart: %s (%v)", rc.accepted()[0].Body, err)
	}
}

func TestSignature(t *testing.T) {
	body := []byte(`{"id":"evt_1"}`)
	at := time.Unix(1_790_000_000, 0)
	h := Sign("s3cret", at, body)
	if !strings.HasPrefix(h, "t=1790000000,v1=") || len(h) != len("t=1790000000,v1=")+64 {
		t.Fatalf("header %q", h)
	}
	cases := []struct {
		name   string
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"valid", h, body, at.Add(time.Minute), nil},
		{"tampered body", h, []byte(`{"id":"evt_2"}`), at, ErrSignatureInvalid},
		{"too old", h, body, at.Add(time.Hour), ErrSignatureExpired},
		{"missing", "", body, at, ErrSignatureMissing},
		{"rotated secret listed second", "t=1790000000,v1=00ff," + strings.TrimPrefix(h, "t=1790000000,"), body, at, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := VerifySignature("s3cret", c.header, c.body, c.now, 5*time.Minute); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestPrivateTargetsRefusedOutsideDev(t *testing.T) {
	cases := []struct {
		channel, target string
		ok              bool
	}{
		{ChannelWebhook, "http://127.0.0.1:9000/x", false},
		{ChannelWebhook, "http://localhost/x", false},
		{ChannelWebhook, "http://10.1.2.3/x", false},
		{ChannelWebhook, "http://192.168.0.10/x", false},
		{ChannelWebhook, "http://[::1]/x", false},
		{ChannelWebhook, "http://169.254.169.254/latest", false},
		{ChannelSlack, "https://172.16.0.1/services/x", false},
		{ChannelWebhook, "https://hooks.example.com/floodgate", true},
		{ChannelWebhook, "ftp://hooks.example.com/x", false},
		{ChannelEmail, "ops@[127.0.0.1]", false},
		{ChannelEmail, "ops@example.com", true},
		{ChannelEmail, "not an address", false},
		{ChannelSMS, "+821012345678", true},
		{ChannelSMS, "call me", false},
		{"pigeon", "roof", false},
	}
	for _, c := range cases {
		_, err := checkTarget(c.channel, c.target, false)
		if (err == nil) != c.ok {
			t.Errorf("%s %q: err %v, want ok=%v", c.channel, c.target, err, c.ok)
		}
	}
	if _, err := checkTarget(ChannelWebhook, "http://127.0.0.1:9000/x", true); err != nil {
		t.Errorf("dev mode must allow loopback: %v", err)
	}
	// The delivery client refuses private addresses at connect time too, so
	// a public name that resolves inside the network gets nowhere.
	rc := newReceiver(t, 0)
	err := (&webhookChannel{client: safeHTTPClient(false), now: time.Now}).Send(t.Context(), &Delivery{Route: Route{Target: rc.URL}, Payload: []byte("{}")})
	if err == nil || !strings.Contains(err.Error(), "private address") || len(rc.all()) != 0 {
		t.Fatalf("safe client reached a loopback receiver: %v", err)
	}
}
