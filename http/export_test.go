package http

// SetBatchForwarding turns the batching of forwarded writes on or off, for
// benchmarks that compare the two; it returns a function that restores it.
func SetBatchForwarding(on bool) (restore func()) {
	old := batchForwarding
	batchForwarding = on
	return func() { batchForwarding = old }
}
