// Package rush replays a sell-out against a Floodgate server and tells what
// happened: it is the load generator behind `floodgate rush` and the client of
// the peer benchmarks in bench/.
//
// A rush simulates many visitors arriving on a curve (early arrivals before
// the opening, a burst right after it, a tail) and a share of bots. Every
// visitor behaves as a real browser would: it joins the queue, waits by
// polling the queue status at the pace the server's ETA suggests (before
// the opening, while its place is not drawn yet, every 3 s as the buyer page
// does; a sample listens over SSE instead), takes a hold once admitted, signs in through the
// dev identity provider and orders with an Idempotency-Key, retrying 429 and
// 503 answers after their Retry-After. Bots share a few client addresses,
// retry without waiting, and try to forge and reuse tickets.
//
// The generator shares the machine with what it measures, so it is kept
// cheap: requests go through a fixed pool of workers in three lanes (waiting
// room, buying, bots), each speaking HTTP/1.1 by hand on its own keep-alive
// connection (client.go, wire.go); a visitor waiting in line is no
// goroutine but a state machine, advanced by the worker that received its
// answer and parked between two requests in a timer heap (machine.go,
// wheel.go), while bots, SSE listeners, challenged joins and admitted
// buyers keep a goroutine each; queue answers are read by the worker
// that received them, by hand in the one shape the queue writes (fuzzed
// against encoding/json, which reads any other; queuestatus.go); the bots' join challenges are solved
// by a farm in a process of its own, on threads of the lowest priority
// (challenge.go); the garbage collector runs
// less often than by default (collectLess). The summary
// gives the generator's CPU per visitor and per request, its peak RSS, and
// how long requests waited for a worker: when that wait grows, the
// generator, not the server, sets the pace.
//
// A timeline (timeline.go) counts, every 250 ms from the first arrival to
// the end, the requests answered per endpoint, the positions the server
// admitted, the admissions visitors learnt of, the orders confirmed and the
// generator's longest wait; the report draws it and lists it second by
// second, and the summary carries it by the second ("timeline").
//
// At the end the rush checks the server's own record (the drop counters and
// the admin orders list) against what visitors were told, and produces a
// Summary (oversold, lost and duplicate orders, 5xx answers, sell-out time,
// latency percentiles, Kendall tau of arrival against queue position) and a
// self-contained HTML report with SVG charts.
//
// Use Run for a rush, BenchOrders for the committed hold+order rate, and
// QueueOnly to measure the server's memory per waiting visitor. StartServer
// runs a throwaway `floodgate serve` on loopback for --demo and for tests.
// Command is `floodgate rush` itself: the flags bind into it, and its Run
// picks the mode, starts the demo server and writes the summary.
package rush
