package identity

import (
	"context"
	"net/mail"
	"net/url"
	"strings"

	"github.com/floodgate/floodgate"
)

// DevLoginPath is the page of the dev provider where a buyer types an email.
const DevLoginPath = "/login/dev"

// Dev is the dev provider: it trusts whatever email the buyer types. It
// exists for tests and demos and is only offered when Floodgate runs with
// --dev. The "code" of its callback is the email itself.
type Dev struct{}

// NewDev returns the dev provider.
func NewDev() *Dev { return &Dev{} }

var _ Provider = (*Dev)(nil)

// Name implements Provider.
func (*Dev) Name() string { return "dev" }

// Down implements Provider: the dev provider lives inside Floodgate.
func (*Dev) Down() bool { return false }

// AuthCodeURL implements Provider with the local dev login page.
func (*Dev) AuthCodeURL(_ context.Context, f Flow) (string, error) {
	return DevLoginPath + "?" + url.Values{"state": {f.State}}.Encode(), nil
}

// Exchange implements Provider: code is the email typed on the dev page.
func (*Dev) Exchange(_ context.Context, code string, _ Flow) (Buyer, error) {
	email, err := CheckEmail(code)
	if err != nil {
		return Buyer{}, err
	}
	return Buyer{Customer: email, Email: email}, nil
}

// CheckEmail returns the email address in s, lower-cased, or an EInvalid
// error that says what is wrong.
func CheckEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 {
		return "", floodgate.Errorf(floodgate.EInvalid, "Type an email address such as jane@example.com.")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "", floodgate.Errorf(floodgate.EInvalid, "%q is not an email address; type one such as jane@example.com.", s)
	}
	return NormalizeEmail(s), nil
}

// NormalizeEmail is the customer an email address stands for: the address
// with ASCII letters lower-cased and nothing else changed. Unicode
// lower-casing would merge distinct addresses (the Kelvin sign "K"
// lower-cases to "k", so "Kim@example.com" would become kim's orders
// and per-customer limit); two addresses that differ in anything but ASCII
// case stay two customers.
func NormalizeEmail(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}
