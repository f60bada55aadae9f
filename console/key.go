package console

import (
	"crypto/hmac"
	"crypto/sha256"
)

// KeyFrom derives the console's session key (Config.Key) from the admin
// token, so every node of a cluster accepts the same sign-in cookie. The key
// is for this purpose only: knowing it reveals nothing about the token.
func KeyFrom(adminToken string) []byte {
	m := hmac.New(sha256.New, []byte(adminToken))
	m.Write([]byte("floodgate console session key"))
	return m.Sum(nil)
}
