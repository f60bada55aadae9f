// Package sale is the deterministic state machine of a sale: drops, stock,
// queue blocks, admission, holds, orders, idempotency keys and voucher pools.
//
// Apply(command) changes the State and returns a Result. It has no clock, no
// I/O and no randomness: time and random seeds enter as fields of each
// command, stamped by the Raft leader, so every replica that applies the same
// log reaches byte-identical state (see State.MarshalJSON). Hold expiry and
// admission move forward only through Tick commands that the leader proposes.
//
// Invariants, checked by State.Check after every command in the tests:
//
//	available + held + awaiting_payment + sold == stock   for every drop
//	ordered quantity per customer <= limit                for every drop and customer
//	no voucher code is given to two orders
//	an idempotency key maps to exactly one order
package sale
