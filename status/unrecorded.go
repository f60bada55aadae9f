package status

// A delivery attempt whose outcome the store cannot take (the leader's data
// disk is full, so the cluster log refuses every write) would otherwise be
// forgotten: the node reads its records back from the log, which still has
// the delivery queued as before the attempt, and sends it again at once,
// again and again while writes fail. The outcome is kept here, in memory,
// until it is recorded: a delivery sent (or given up) is not sent again, and
// one that failed waits for its backoff. Deliveries not yet sent stay in the
// outbox as ever, so nothing is lost; a node that stops leading before it
// could record an outcome leaves the delivery to the next leader, which
// sends it once more (as after a crash between a send and its record).

// maxUnrecorded bounds the outcomes kept in memory: past it no new send
// starts until some are recorded, and the deliveries wait in the outbox.
const maxUnrecorded = 10000

// unrecorded is the outcome of one attempt not yet recorded.
type unrecorded struct {
	done bool      // delivered or given up: remove the delivery
	d    *Delivery // else: the delivery with its attempts and next time
	// attempts is how many attempts the record counted before this one:
	// a record read back with another count (another leader's attempt)
	// makes this outcome stale, and so does a record gone (unsubscribed).
	attempts int
}

// noteUnrecordedLocked keeps the outcome of an attempt on d, the record had
// counted attempts before it, that could not be recorded.
func (s *Service) noteUnrecordedLocked(d *Delivery, done bool, attempts int) {
	s.unrecorded[d.ID] = unrecorded{done: done, d: d, attempts: attempts}
}

// loadDeliveryLocked puts a delivery read from the log into the outbox,
// with the outcome of an attempt on it not yet recorded, if any; an outcome
// the record no longer matches (another leader's attempt) is forgotten.
func (s *Service) loadDeliveryLocked(id string, d *Delivery) {
	u, ok := s.unrecorded[id]
	switch {
	case !ok:
		s.outbox[id] = d
	case d.Attempts != u.attempts:
		delete(s.unrecorded, id)
		s.outbox[id] = d
	case u.done:
		delete(s.outbox, id)
	default:
		s.outbox[id] = u.d
	}
}

// recordUnrecordedLocked tries again to record the outcomes kept in memory,
// and reports whether new sends may start.
func (s *Service) recordUnrecordedLocked() bool {
	if len(s.unrecorded) == 0 {
		return true
	}
	var b batch
	for id, u := range s.unrecorded {
		switch cur, queued := s.outbox[id]; {
		case u.done:
			b.del(bucketOutbox, id)
		case queued && cur == u.d:
			b.put(bucketOutbox, id, u.d)
		default:
			delete(s.unrecorded, id) // removed meanwhile (unsubscribed)
		}
	}
	if err := s.persist(&b); err != nil {
		return len(s.unrecorded) < maxUnrecorded
	}
	for id, u := range s.unrecorded {
		if u.done {
			delete(s.outbox, id)
		}
		delete(s.unrecorded, id)
	}
	return true
}
