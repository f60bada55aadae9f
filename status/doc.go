// Package status tells buyers and makers the truth about Floodgate, on many
// channels, and keeps doing so when the sale core cannot.
//
// A Service holds components (the waiting room, checkout, login, orders and
// one per drop), incidents with timestamped updates, and scheduled
// maintenance, in a small durable store of its own under DataDir/status. It
// serves:
//
//   - the public page /status (HTML, Korean and English, readable without
//     JavaScript) and an Atom feed /history.atom;
//   - Atlassian Statuspage-compatible JSON (/api/v2/summary.json, status.json,
//     incidents.json) so existing status aggregators can read it;
//   - the in-app banner JSON (/api/v1/banner) that the buyer pages show;
//   - the admin API for incidents, maintenance and subscribers.
//
// Health signals from the core (Observe) open, update and resolve automatic
// incidents by themselves, with a delay that keeps a flapping signal to one
// incident. When such an incident cannot be written (the node's data
// disk is full), the node that sees the problem shows it live, unrecorded,
// from memory, and records it once writes succeed (live.go). Every change to an incident becomes an event that is queued in a
// durable outbox, one delivery per subscriber, and sent by signed webhook,
// SMTP email, Slack-compatible webhook or an SMS gateway, with retries and a
// delivery log. An outage that reaches two hours sends a notice with the fact,
// the cause and the response to every affected buyer (SMS and email) and to
// the makers (webhooks).
//
// Because the page must keep answering when the core is down, the same
// Service runs on its own with "floodgate status serve" (mirroring the core
// while it answers, and taking incident posts directly when it does not), and
// Export writes the page and the JSON as static files any web server or
// bucket can serve.
package status
