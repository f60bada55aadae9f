package status

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"net/netip"
	"net/smtp"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/floodgate/floodgate"
)

// Channel delivers one queued message to its target. Every channel sits
// behind the same outbox: a Send that returns an error is retried with
// backoff, and every attempt is written to the delivery log.
type Channel interface {
	Send(ctx context.Context, d *Delivery) error
}

// errPermanent marks an error that no retry can fix (for example, a channel
// that is not configured).
type errPermanent struct{ error }

func permanent(format string, args ...any) error { return errPermanent{fmt.Errorf(format, args...)} }

func newChannels(cfg *Config) map[string]Channel {
	client := cfg.HTTPClient
	if client == nil {
		client = safeHTTPClient(cfg.Dev)
	}
	return map[string]Channel{
		ChannelWebhook: &webhookChannel{client: client, now: cfg.Now},
		ChannelSlack:   &slackChannel{client: client},
		ChannelSMS:     &smsChannel{client: client, cfg: cfg.SMS},
		ChannelEmail:   &emailChannel{cfg: cfg.SMTP, now: cfg.Now},
	}
}

// safeHTTPClient refuses to connect to loopback, private and link-local
// addresses unless dev is set, checked at connect time so that DNS names and
// redirects cannot reach inside the network either.
func safeHTTPClient(dev bool) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	if !dev {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip != nil && privateIP(ip) {
				return fmt.Errorf("refusing to connect to private address %s (only allowed with --dev)", host)
			}
			return nil
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = dialer.DialContext
	tr.Proxy = nil
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

func privateIP(ip net.IP) bool {
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() {
		return true
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return true
	}
	a = a.Unmap()
	for _, p := range blockedRanges {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// blockedRanges are the ranges besides the private and loopback ones that
// reach inside a network, or nowhere: carrier-grade NAT, this network, the
// benchmarking range, IETF protocol assignments, reserved and broadcast,
// and NAT64 (which embeds any IPv4 address, private ones included).
var blockedRanges = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("::/96"),
}

// privateHost reports whether a host name or address names this machine or a
// private network without a DNS lookup.
func privateHost(host string) bool {
	host = strings.TrimSuffix(strings.Trim(strings.ToLower(host), "[]"), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".local") || strings.HasSuffix(host, ".internal") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil {
		return privateIP(ip)
	}
	return false
}

var phoneRE = regexp.MustCompile(`^\+?[0-9]{6,16}$`)

// checkTarget validates a subscriber target for its channel.
func checkTarget(channel, target string, dev bool) (string, error) {
	target = strings.TrimSpace(target)
	if target == "" {
		return "", floodgate.Errorf(floodgate.EInvalid, "The field \"target\" is required: a URL for webhook and slack, an address for email, a phone number for sms.")
	}
	switch channel {
	case ChannelWebhook, ChannelSlack:
		u, err := url.Parse(target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", floodgate.Errorf(floodgate.EInvalid, "The target %q is not an http(s) URL.", target)
		}
		if u.User != nil {
			return "", floodgate.Errorf(floodgate.EInvalid, "The target URL must not carry a user name or password; use \"secret\" to sign webhooks.")
		}
		if !dev && privateHost(u.Hostname()) {
			return "", floodgate.Errorf(floodgate.EInvalid, "The target %q is a loopback or private address; use a public address (private ones are allowed only with --dev).", target)
		}
		return u.String(), nil
	case ChannelEmail:
		addr, err := mail.ParseAddress(target)
		if err != nil || addr.Name != "" {
			return "", floodgate.Errorf(floodgate.EInvalid, "The target %q is not an email address like buyer@example.com.", target)
		}
		_, domain, _ := strings.Cut(addr.Address, "@")
		if !dev && privateHost(domain) {
			return "", floodgate.Errorf(floodgate.EInvalid, "The email domain %q is a loopback or private address; use a public one (allowed only with --dev).", domain)
		}
		return addr.Address, nil
	case ChannelSMS:
		phone := strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(target)
		if !phoneRE.MatchString(phone) {
			return "", floodgate.Errorf(floodgate.EInvalid, "The target %q is not a phone number; use the international form, e.g. +821012345678.", target)
		}
		return phone, nil
	}
	return "", floodgate.Errorf(floodgate.EInvalid, "Unknown channel %q; use webhook, email, slack or sms.", channel)
}

// webhookChannel posts the event JSON, signed with the subscriber's secret.
type webhookChannel struct {
	client *http.Client
	now    func() time.Time
}

func (c *webhookChannel) Send(ctx context.Context, d *Delivery) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Target, bytes.NewReader(d.Payload))
	if err != nil {
		return permanent("bad webhook URL: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Floodgate-Status/1")
	req.Header.Set("Floodgate-Event-Id", d.EventID)
	req.Header.Set("Floodgate-Event-Type", d.Kind)
	req.Header.Set("Floodgate-Delivery-Id", d.ID)
	if d.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(d.Secret, c.now(), d.Payload))
	}
	return doPost(c.client, req)
}

// slackChannel posts {"text": …} to a Slack-compatible incoming webhook.
type slackChannel struct{ client *http.Client }

func (c *slackChannel) Send(ctx context.Context, d *Delivery) error {
	body, _ := json.Marshal(map[string]string{"text": d.Text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Target, bytes.NewReader(body))
	if err != nil {
		return permanent("bad Slack webhook URL: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	return doPost(c.client, req)
}

// smsChannel posts a Twilio-style form (To, From, Body) to the gateway.
type smsChannel struct {
	client *http.Client
	cfg    SMSConfig
}

func (c *smsChannel) Send(ctx context.Context, d *Delivery) error {
	if c.cfg.URL == "" {
		return permanent("no SMS gateway is configured; set --sms-url")
	}
	endpoint := strings.ReplaceAll(c.cfg.URL, "{account}", url.PathEscape(c.cfg.Account))
	form := url.Values{"To": {d.Target}, "From": {c.cfg.From}, "Body": {d.Text}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return permanent("bad SMS gateway URL: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.cfg.Account != "" || c.cfg.Token != "" {
		req.SetBasicAuth(c.cfg.Account, c.cfg.Token)
	}
	return doPost(c.client, req)
}

func doPost(client *http.Client, req *http.Request) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the receiver answered %s", resp.Status)
	}
	return nil
}

// emailChannel sends a plain-text UTF-8 message over SMTP, with STARTTLS
// when the server offers it.
type emailChannel struct {
	cfg SMTPConfig
	now func() time.Time
}

func (c *emailChannel) Send(ctx context.Context, d *Delivery) error {
	if c.cfg.Addr == "" || c.cfg.From == "" {
		return permanent("no SMTP server is configured; set --smtp-addr and --smtp-from")
	}
	host, _, err := net.SplitHostPort(c.cfg.Addr)
	if err != nil {
		return permanent("bad --smtp-addr %q: %v", c.cfg.Addr, err)
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", c.cfg.Addr)
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	client, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer client.Close()
	if err := client.Hello("floodgate"); err != nil {
		return err
	}
	if ok, _ := client.Extension("STARTTLS"); ok {
		if err := client.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
			return err
		}
	}
	if c.cfg.Username != "" {
		if err := client.Auth(smtp.PlainAuth("", c.cfg.Username, c.cfg.Password, host)); err != nil {
			return permanent("SMTP login failed: %v (check --smtp-user and --smtp-password)", err)
		}
	}
	if err := client.Mail(c.cfg.From); err != nil {
		return err
	}
	if err := client.Rcpt(d.Target); err != nil {
		return err
	}
	w, err := client.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(c.message(d)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return client.Quit()
}

func (c *emailChannel) message(d *Delivery) []byte {
	var b bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", c.cfg.From)
	hdr("To", d.Target)
	hdr("Subject", mime.QEncoding.Encode("utf-8", d.Subject))
	hdr("Date", c.now().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+strings.ReplaceAll(d.ID, ":", ".")+"@floodgate.status>")
	hdr("X-Floodgate-Event-Id", d.EventID)
	if d.UnsubscribeURL != "" {
		hdr("List-Unsubscribe", "<"+d.UnsubscribeURL+">")
		hdr("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	}
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(d.Text, "\n", "\r\n")))
	_ = qp.Close()
	return b.Bytes()
}
