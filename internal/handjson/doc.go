// Package handjson holds what the hand-written JSON encoders and decoders
// of the hot paths share (ticket claims, sessions, queue status, hold and
// order answers, the sale's snapshot and order leaves): AppendString writes
// a string byte for byte as encoding/json does, and CutPrefix, PlainString
// and PlainInt read the one shape an encoder writes, leaving anything else
// to encoding/json. It imports nothing but unicode/utf8, so that any
// package (sale, which must not do I/O, included) may use it.
package handjson
