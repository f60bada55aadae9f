package status

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header that carries the signature of a webhook.
const SignatureHeader = "Floodgate-Signature"

// Sign returns the Floodgate-Signature header value for body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Errors of VerifySignature.
var (
	ErrSignatureMissing = errors.New("status: no Floodgate-Signature header, or it has no t= and v1= parts")
	ErrSignatureInvalid = errors.New("status: the signature does not match the body; check the shared secret")
	ErrSignatureExpired = errors.New("status: the signature timestamp is outside the tolerance; check the clocks or reject as a replay")
)

// VerifySignature checks a Floodgate-Signature header against body, as a
// receiver of webhooks should: the HMAC must match one v1 value, and the
// timestamp must be within tolerance of now (0 skips the time check).
func VerifySignature(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	if ts == "" || len(sigs) == 0 {
		return ErrSignatureMissing
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrSignatureMissing
	}
	want := mac(secret, ts, body)
	matched := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			matched = true
		}
	}
	if !matched {
		return ErrSignatureInvalid
	}
	if tolerance > 0 {
		d := now.Sub(time.Unix(unix, 0))
		if d < 0 {
			d = -d
		}
		if d > tolerance {
			return ErrSignatureExpired
		}
	}
	return nil
}
