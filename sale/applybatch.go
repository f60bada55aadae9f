package sale

import "github.com/floodgate/floodgate"

// ApplyBatch applies the encoded commands of a batch (AppendBatch) in
// order, and calls done with each one's place in the batch and its result
// as soon as it is applied. A command that cannot be decoded changes
// nothing and is answered EInvalid. It returns how many commands it
// applied or answered, and the error of a batch that could not be split
// to the end (the commands before the fault are applied).
//
// It applies the same commands in the same order as decoding each and
// calling Apply would, but decodes one command ahead and asks the
// processor for what that one will read first (prefetch) before it applies
// the one before: in a big state the look-ups of a new ticket or customer
// miss every cache, and this way each one's wait overlaps the work of the
// command before it.
func (s *State) ApplyBatch(batch []byte, done func(i int, res Result)) (int, error) {
	var (
		cmds  [2]Command
		bad   [2]error
		buyer [2]bool // cmds[k] is a command decodeBuyer took (decodeOver)
		n     int
	)
	apply := func(k int) {
		c := &cmds[k&1]
		if bad[k&1] != nil {
			done(k, refuse(floodgate.EInvalid, "The command could not be decoded."))
			return
		}
		done(k, s.Apply(c))
	}
	err := SplitBatch(batch, func(buf []byte) error {
		c := &cmds[n&1]
		buyer[n&1], bad[n&1] = decodeOver(buf, c, buyer[n&1])
		if bad[n&1] == nil {
			s.prefetch(c)
		}
		if n > 0 {
			apply(n - 1)
		}
		n++
		return nil
	})
	if n > 0 {
		apply(n - 1)
	}
	return n, err
}

// prefetch asks the processor for the memory that applying c will read
// first and most likely miss: the filter (or home slot) of the ticket
// index for a hold; for an order, the customer index's and the slot that
// finds its hold. It only reads the state.
func (s *State) prefetch(c *Command) {
	switch c.Kind {
	case KindHold:
		s.Tickets.m.prefetchHash(ticketHash(c.Drop, c.Visitor))
	case KindOrder:
		if s.custs.built {
			s.custs.m.prefetchHash(customerHash(c.Customer))
		}
		s.Holds.prefetchID(c.HoldID)
	}
}
