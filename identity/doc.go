// Package identity signs buyers in. A buyer session is a self-contained token
// (Sessions) that any node can verify; login providers (the dev provider for
// tests and demos, OIDC for real deployments) sit behind one small interface,
// and a circuit breaker reports when the provider is down so that holds are
// paused instead of lost.
package identity
