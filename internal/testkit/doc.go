// Package testkit starts real floodgate processes for tests and talks to
// them through the public HTTP API.
//
// The floodgate binary is built once per test process (or taken from
// $FLOODGATE_BIN). StartNode runs `floodgate serve` on a free loopback port
// with its data in t.TempDir(), waits for /healthz and stops the process when
// the test ends. A Node can be killed with SIGKILL and restarted on the same
// data dir and address, which is how the crash and cluster tests prove that
// acknowledged writes survive.
//
// The API helpers come in two flavours: MustX(tb, ...) fails the test on any
// unexpected answer and is meant for the test goroutine; the Client methods
// return an *APIError and are safe to call from many goroutines at once.
//
//	n := testkit.StartNode(t, testkit.Options{})
//	n.MustCreateDrop(t, testkit.DropRequest{ID: "d", Name: "D", Stock: 10})
//	tk := n.MustJoin(t, "d")
//	n.MustWaitAdmitted(t, "d", tk.Ticket)
//	h := n.MustHold(t, "d", tk.Ticket, 1)
//	o := n.MustOrder(t, h.ID, tk.Ticket, n.MustSession(t, "a@example.com"), "key-1")
package testkit
