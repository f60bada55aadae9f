package web

import "crypto/sha256"

// CookieKeyFrom derives the key of the login cookies (Config.CookieKey) from a
// secret every node shares, so a login started on one node finishes on any
// other. The key is for this purpose only: knowing it reveals nothing about
// the secret.
func CookieKeyFrom(secret string) []byte {
	k := sha256.Sum256([]byte("floodgate login cookies\x00" + secret))
	return k[:]
}
