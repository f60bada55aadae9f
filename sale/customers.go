package sale

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
	"iter"
	"slices"
	"strconv"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// CustomerCounts counts the units each customer has in a drop (orders paid
// or awaiting payment), for the per-customer limit. There is an entry per
// buyer, so it is laid out like the tickets (tickets.go): a hash of the
// customer (hashIndex) into a slice, which the collector reads as an array
// rather than a map of string keys. Snapshots write it as before: a JSON
// object from customer to units, without customers at zero.
type CustomerCounts struct {
	hashIndex // customerHash → index into all, for the first indexed
	// all is the counts in chunks (chunks.go), so that a new customer
	// never copies the others: a slice that doubles copied a rush's
	// counts again and again, inside the Apply of one order.
	all [][]customerCount
	// indexed counts the customers of all in the hash index. An order
	// finds its customer's count through the customer's record
	// (customerIndex), so a new customer is only appended; the index
	// takes in the ones it lacks when a look-up by name needs it.
	indexed int
}

type customerCount struct {
	name string
	n    int64 // 0 for a customer whose orders all ended
}

func newCustomerCounts() CustomerCounts { return CustomerCounts{hashIndex: newHashIndex(0)} }

// countChunk is how many counts a full chunk of CustomerCounts holds.
const countChunk = 4096

// at is the count of customer i.
func (cc *CustomerCounts) at(i int) *customerCount { return chunksAt(cc.all, i, countChunk) }

// len is the number of customers counted (some at zero).
func (cc *CustomerCounts) len() int { return chunksLen(cc.all, countChunk) }

// customerHash is the keyHash of the customer.
func customerHash(customer string) uint64 { return maphash.String(hashSeed, customer) }

func (cc *CustomerCounts) find(customer string) int {
	return cc.findHash(customer, customerHash(customer))
}

func (cc *CustomerCounts) findHash(customer string, h uint64) int {
	cc.catchUp()
	return cc.findHashed(h, func(i int32) bool { return cc.at(int(i)).name == customer },
		func(b []byte) []byte { return append(b, customer...) })
}

// catchUp indexes the customers appended since the last look-up by name.
func (cc *CustomerCounts) catchUp() {
	for n := cc.len(); cc.indexed < n; cc.indexed++ {
		cc.putHashed(customerHash(cc.at(cc.indexed).name), int32(cc.indexed))
	}
}

// Get returns the units customer has in the drop.
func (cc *CustomerCounts) Get(customer string) int64 {
	if i := cc.find(customer); i >= 0 {
		return cc.at(i).n
	}
	return 0
}

// add adds n units (n < 0 takes them back) to customer's count.
func (cc *CustomerCounts) add(customer string, n int64) {
	cc.addAt(customer, cc.find(customer), n)
}

// addAt is add for a customer found at i (-1: not counted in this drop),
// and returns where the customer's count is (-1: none, n was 0).
func (cc *CustomerCounts) addAt(customer string, i int, n int64) int {
	if i >= 0 {
		cc.at(i).n += n
		return i
	}
	if n == 0 {
		return -1
	}
	cc.all = chunksAppend(cc.all, customerCount{customer, n}, countChunk)
	return cc.len() - 1
}

// All yields each customer with units and how many, in no fixed order.
func (cc *CustomerCounts) All() iter.Seq2[string, int64] {
	return func(yield func(string, int64) bool) {
		for _, c := range chunksAll(cc.all) {
			if c.n != 0 && !yield(c.name, c.n) {
				return
			}
		}
	}
}

func (cc *CustomerCounts) clone() CustomerCounts {
	all := make([][]customerCount, len(cc.all))
	for i, ch := range cc.all {
		all[i] = slices.Clone(ch)
	}
	return CustomerCounts{hashIndex: cc.cloneIndex(), all: all, indexed: cc.indexed}
}

// MarshalJSON writes the counts as encoding/json writes a map from customer
// to units (null for a drop that never had one, as a nil map).
func (cc CustomerCounts) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := cc.writeJSON(&buf, json.NewEncoder(&buf)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (cc *CustomerCounts) writeJSON(buf *bytes.Buffer, enc *json.Encoder) error {
	if !cc.m.made && cc.all == nil {
		buf.WriteString("null")
		return nil
	}
	order := make([]*customerCount, 0, cc.len())
	for _, c := range chunksAll(cc.all) {
		if c.n != 0 {
			order = append(order, c)
		}
	}
	slices.SortFunc(order, func(a, b *customerCount) int { return strings.Compare(a.name, b.name) })
	buf.WriteByte('{')
	for k, c := range order {
		writeKey(buf, k, c.name)
		buf.Write(strconv.AppendInt(buf.AvailableBuffer(), c.n, 10))
	}
	buf.WriteByte('}')
	return nil
}

// UnmarshalJSON reads what MarshalJSON (or encoding/json, from the map this
// replaced) wrote; a customer twice counts as the last, as in a map.
func (cc *CustomerCounts) UnmarshalJSON(b []byte) error {
	return cc.UnmarshalJSONFrom(jsontext.NewDecoder(bytes.NewReader(b), jsonv1.DefaultOptionsV1()))
}

// UnmarshalJSONFrom is UnmarshalJSON reading from the snapshot's decoder.
func (cc *CustomerCounts) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	next := newCustomerCounts()
	err := readObjectFrom(dec, func(key string) error {
		var n int64
		if err := jsonv2.UnmarshalDecode(dec, &n, jsonv1.DefaultOptionsV1()); err != nil {
			return err
		}
		if i := next.find(key); i >= 0 {
			next.at(i).n = n
			return nil
		}
		next.add(key, n)
		return nil
	})
	if err != nil {
		return err
	}
	*cc = next
	return nil
}
