// Package sink delivers the order feed (sale.State.Events) to the sinks an
// operator added: signed webhooks and PostgreSQL tables.
//
// Delivery runs on the Raft leader only. Each sink has a cursor,
// delivered_seq, that moves through the replicated log after every batch the
// sink accepted; a new leader starts from the cursor the old one committed,
// so every event reaches every sink at least once and in seq order, through
// kill -9 and leader changes. A sink that fails is retried with exponential
// backoff; after a run of failures it is dead-lettered (the state shows it)
// until an operator retries it. Delivery never holds up the sale: it reads
// the applied state and writes only its small cursor commands.
//
// Use:
//
//	r := sink.New(sink.Config{Store: st, Dev: dev})
//	go r.Run(ctx)
package sink
