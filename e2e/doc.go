// Package e2e holds the end-to-end tests of Floodgate: they build the real
// floodgate binary, start `floodgate serve` processes with internal/testkit,
// and use nothing but the public HTTP API, as a buyer or an operator would.
//
// What they prove: under hundreds of concurrent buyers the stock is sold
// exactly (checked for linearizability with porcupine against a sequential
// model of the stock); every order answered 2xx survives kill -9; and bad
// input gets the documented error shape without changing anything.
package e2e
