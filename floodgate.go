// Package floodgate holds the domain types shared by every part of Floodgate
// and the one error type used everywhere: an error code from the API contract
// plus a sentence a person can act on.
//
// Adapters live in subpackages: sale (the deterministic state machine), store
// (replication with Raft), queue (tickets and positions), identity (buyer
// sessions and login providers), http (the JSON API), web (the buyer pages),
// status (incidents and channels), rush (the load generator).
package floodgate

import (
	"errors"
	"fmt"
	"time"
)

// Error codes of the HTTP API v1 contract (shared/API.md). The HTTP status of
// each code is decided in exactly one place: internal/api.
const (
	EInvalid         = "invalid_argument"
	EUnauthenticated = "unauthenticated"
	ENotAdmitted     = "not_admitted"
	EForbidden       = "forbidden"
	ENotFound        = "not_found"
	ESoldOut         = "sold_out"
	ELimitExceeded   = "limit_exceeded"
	EHoldExpired     = "hold_expired"
	EAlreadyOrdered  = "already_ordered"
	EConflict        = "conflict"
	EPaymentExpired  = "payment_expired"
	EQuotaExceeded   = "quota_exceeded"
	EChallenge       = "challenge_required"
	ETooLarge        = "too_large"
	ERateLimited     = "rate_limited"
	EUnavailable     = "unavailable"
	EInternal        = "internal"
)

// Error is the error type of Floodgate: a machine-readable code and a message
// for the person who reads it.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, EInternal for any error that is not an
// *Error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the human message of err; internal errors get a generic
// message so that details of the machine do not leak to buyers.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Something went wrong on our side. Please try again in a moment."
}

// Drop states.
const (
	DropScheduled = "scheduled"
	DropOpen      = "open"
	DropSoldOut   = "sold_out"
	DropClosed    = "closed"
)

// Queue states of a visitor.
const (
	QueueWaiting  = "waiting"
	QueueAdmitted = "admitted"
	QueueSoldOut  = "sold_out"
	QueueClosed   = "closed"
)

// Drop is a limited product on sale, as the API shows it.
type Drop struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	Price            int64     `json:"price"`
	Currency         string    `json:"currency"`
	Stock            int64     `json:"stock"`
	Available        int64     `json:"available"`
	Held             int64     `json:"held"`
	Sold             int64     `json:"sold"`
	AwaitingPayment  int64     `json:"awaiting_payment"`
	State            string    `json:"state"`
	StartsAt         time.Time `json:"starts_at"`
	PerCustomerLimit int64     `json:"per_customer_limit"`
	HoldSeconds      int64     `json:"hold_seconds"`
	AdmitPerSecond   int64     `json:"admit_per_second"`
	Vouchers         int64     `json:"vouchers"`
	VouchersLeft     int64     `json:"vouchers_left"`
	Queued           int64     `json:"queued"`
	AdmittedUpTo     int64     `json:"admitted_up_to"`
	PaymentSeconds   int64     `json:"payment_seconds"`
	PaymentURL       string    `json:"payment_url,omitempty"`
	DropFairness
	// Paused is set while an operator holds admission; waiting visitors
	// keep their places.
	Paused      bool       `json:"paused"`
	PauseReason string     `json:"pause_reason,omitempty"`
	EndsAt      *time.Time `json:"ends_at,omitempty"`
	// ChallengeDifficulty is "auto" or the fixed difficulty (bits) of the
	// join challenge.
	ChallengeDifficulty any `json:"challenge_difficulty"`
}

// Hold is stock set aside for one ticket until it is ordered, released or
// expires.
type Hold struct {
	ID        string    `json:"id"`
	Drop      string    `json:"drop"`
	Quantity  int64     `json:"quantity"`
	ExpiresAt time.Time `json:"expires_at"`
	Status    string    `json:"status"`
	Paused    bool      `json:"paused,omitempty"`
}

// Hold statuses.
const (
	HoldActive   = "active"
	HoldOrdered  = "ordered"
	HoldReleased = "released"
	HoldExpired  = "expired"
)

// Order is a committed purchase.
type Order struct {
	ID        string    `json:"id"`
	HoldID    string    `json:"hold_id"`
	Drop      string    `json:"drop"`
	Customer  string    `json:"customer"`
	Quantity  int64     `json:"quantity"`
	Voucher   string    `json:"voucher,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	Status    string    `json:"status"`
	// PayBy is when an unpaid order expires (drops with a payment step).
	PayBy *time.Time `json:"pay_by,omitempty"`
	// Receipt is a compact JWS (EdDSA, key in /.well-known/jwks.json) over
	// the order's leaf of its drop's transparency log.
	Receipt string `json:"receipt,omitempty"`
}

// Order statuses. Orders of drops without a payment step are paid at once.
const (
	OrderAwaitingPayment = "awaiting_payment"
	OrderPaid            = "paid"
	OrderExpired         = "expired"
	OrderCancelled       = "cancelled"
)

// Order event types, in the order feed and to sinks.
const (
	OrderEventCreated   = "order.created"
	OrderEventPaid      = "order.paid"
	OrderEventExpired   = "order.expired"
	OrderEventCancelled = "order.cancelled"
)

// Event is one entry of the order feed: seq grows by one per event across
// the whole cluster.
type Event struct {
	Seq   uint64    `json:"seq"`
	Type  string    `json:"type"`
	At    time.Time `json:"at"`
	Order Order     `json:"order"`
}
