package sale

import (
	"encoding/binary"
	"unsafe"
)

// prepareMax is how many holds and orders of a batch Prepare reads ahead
// for, at most.
const prepareMax = 256

// Prepare reads ahead in a batch of encoded commands (AppendBatch) that is
// about to be applied: for each hold it loads the slot of the ticket's
// hash in the tickets' index, for each order the slot of the customer's
// hash in the customers' index. In a big state each is a cache miss (the
// arrays are megabytes, the hashes random), and Apply waits for them one
// at a time; loaded together, in a loop that does nothing else, the
// processor waits for all of them about as long as for one, and Apply
// finds them in the cache.
//
// It changes nothing: it only reads, so calling it or not, before or
// after any command, gives the same state and the same results. What it
// cannot read (another kind of command, a malformed batch) it passes
// over; SplitBatch and DecodeCommand refuse what is malformed.
func (s *State) Prepare(batch []byte) {
	var ahead readAhead
	ahead.read(batch)
	sum := s.Tickets.m.touch(ahead.tickets[:ahead.nt])
	if s.custs.built {
		sum += s.custs.m.touch(ahead.customers[:ahead.nc])
	}
	s.touched += sum
}

// readAhead is what Prepare reads from a batch: the hashes of the tickets
// of its holds and of the customers of its orders, in order.
type readAhead struct {
	tickets, customers [prepareMax]uint64
	nt, nc             int
}

func (a *readAhead) read(batch []byte) {
	d := decoder{buf: batch}
	n := d.count()
	for i := 0; i < n && d.err == nil && a.nt < prepareMax && a.nc < prepareMax; i++ {
		l := d.count()
		if d.err != nil || l > len(d.buf) {
			return
		}
		cmd := d.buf[:l]
		d.buf = d.buf[l:]
		if len(cmd) < 2 || Kind(cmd[0]) != KindHold && Kind(cmd[0]) != KindOrder {
			continue
		}
		_, m := binary.Varint(cmd[1:])
		if m <= 0 {
			continue
		}
		c := decoder{buf: cmd[1+m:]}
		if Kind(cmd[0]) == KindHold {
			drop, visitor := c.peek(), c.peek()
			if c.err == nil {
				a.tickets[a.nt] = ticketHash(drop, visitor)
				a.nt++
			}
			continue
		}
		c.peek() // the hold
		c.peek() // the visitor
		customer := c.peek()
		if c.err == nil {
			a.customers[a.nc] = customerHash(customer)
			a.nc++
		}
	}
}

// peek reads a text field without a copy: the string is the buffer's own
// bytes, for use only while the buffer stays as it is.
func (d *decoder) peek() string {
	n := d.count()
	if d.err != nil || n == 0 {
		return ""
	}
	s := unsafe.String(&d.buf[0], n)
	d.buf = d.buf[n:]
	return s
}

// touch loads the first slot find would look at for each hash, and returns
// a sum of what it read, so that the loads are not left out.
func (x *hashSlots) touch(hashes []uint64) uint32 {
	if len(x.slots) == 0 {
		return 0
	}
	var sum uint32
	for _, h := range hashes {
		sum += x.slots[home(tagOf(h), len(x.slots))].tag
	}
	return sum
}
