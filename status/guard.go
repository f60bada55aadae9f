package status

import "net/http"

// SafeHTTPClient is the HTTP client status webhooks use: it refuses to
// connect to loopback, private and link-local addresses unless dev is set.
// Other senders of webhooks (the order sinks) use it too, so that one guard
// covers every outgoing webhook.
func SafeHTTPClient(dev bool) *http.Client { return safeHTTPClient(dev) }

// CheckWebhookURL validates a webhook target as a webhook subscriber's is
// validated, and returns it in its canonical form.
func CheckWebhookURL(target string, dev bool) (string, error) {
	return checkTarget(ChannelWebhook, target, dev)
}
