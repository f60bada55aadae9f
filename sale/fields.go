package sale

import (
	"encoding/binary"
	"fmt"
)

// A struct that the encoding writes field by field lists its fields once,
// as pointers in their order; appendFields and decoder.fields walk that one
// list, so the encoding and the decoding of the struct cannot drift apart.
// Adding a field: append it to the end of the list (older entries of the log
// were written without it, so only commands of a new kind may carry it).

func (s *DropSpec) fields() []any {
	return []any{&s.ID, &s.Name, &s.Price, &s.Currency, &s.Stock, &s.PerCustomerLimit, &s.StartsAt, &s.HoldSeconds,
		&s.AdmitPerSecond, &s.AdmitWindow, &s.Fingerprint, &s.Vouchers, &s.PaymentSeconds, &s.PaymentURL, &s.ChallengeDifficulty}
}

func (f *FairSpec) fields() []any {
	return []any{&f.Mode, &f.EntryEndsAt, &f.ClaimSeconds, &f.PresaleUntil, &f.PresaleCustomers, &f.PresaleCodes}
}

func (t *TenantSpec) fields() []any {
	return []any{&t.ID, &t.Name, &t.MaxDrops, &t.MaxAdmitPerSecond, &t.DisplayName, &t.LogoURL, &t.Accent}
}

// appendFields appends each field: a string, a varint, or a count and its
// strings.
func appendFields(buf []byte, fields []any) []byte {
	for _, f := range fields {
		switch v := f.(type) {
		case *string:
			buf = appendString(buf, *v)
		case *int64:
			buf = binary.AppendVarint(buf, *v)
		case *[]string:
			buf = binary.AppendUvarint(buf, uint64(len(*v)))
			for _, s := range *v {
				buf = appendString(buf, s)
			}
		default:
			panic(fmt.Sprintf("sale: no encoding for a field of type %T", f))
		}
	}
	return buf
}

// fields decodes what appendFields wrote into the same list. An empty list
// of strings stays nil.
func (d *decoder) fields(fields []any) {
	for _, f := range fields {
		switch v := f.(type) {
		case *string:
			*v = d.string()
		case *int64:
			*v = d.varint()
		case *[]string:
			n := d.count()
			if n > 0 {
				*v = make([]string, 0, n)
			}
			for i := 0; i < n && d.err == nil; i++ {
				*v = append(*v, d.string())
			}
		default:
			panic(fmt.Sprintf("sale: no decoding for a field of type %T", f))
		}
	}
}
