package fairness

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/floodgate/floodgate/internal/client"
	"github.com/floodgate/floodgate/sale"
)

// Auditor checks a drop against a server with public calls only: the seed
// against its commitment, the log against the signed heads, every position
// and draw rank against the revealed seed, the stock invariant, and a receipt.
type Auditor struct {
	Target string       // base URL of any node or edge
	HTTP   *http.Client // nil: internal/client's default (30 s timeout)
	Out    io.Writer    // progress lines; nil: discarded
}

// Mismatch is an audit failure: what was checked and what was found.
type Mismatch struct{ What string }

func (m *Mismatch) Error() string { return "MISMATCH: " + m.What }

func mismatch(format string, args ...any) error {
	return &Mismatch{What: fmt.Sprintf(format, args...)}
}

func (a *Auditor) logf(format string, args ...any) {
	if a.Out != nil {
		fmt.Fprintf(a.Out, format+"\n", args...)
	}
}

func (a *Auditor) get(ctx context.Context, path string, out any) error {
	c := client.New(strings.TrimRight(a.Target, "/"))
	if a.HTTP != nil {
		c.HTTP = a.HTTP
	}
	if _, err := c.Call(ctx, http.MethodGet, path, nil, nil, out); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// fairnessDoc is the part of GET /api/v1/drops/{drop}/fairness the audit reads.
type fairnessDoc struct {
	Drop              string `json:"drop"`
	Mode              string `json:"mode"`
	Algorithm         string `json:"algorithm"`
	ShuffleCommitment string `json:"shuffle_commitment"`
	Revealed          bool   `json:"revealed"`
	Seed              string `json:"seed"`
	EarlyTotal        *int64 `json:"early_total"`
	AdmittedUpTo      int64  `json:"admitted_up_to"`
	State             struct {
		Stock           int64  `json:"stock"`
		Available       int64  `json:"available"`
		Held            int64  `json:"held"`
		AwaitingPayment *int64 `json:"awaiting_payment"`
		Sold            int64  `json:"sold"`
	} `json:"state"`
	Log struct {
		Signed string `json:"signed"`
	} `json:"log"`
}

type signedHead struct {
	Signed string `json:"signed"`
}

// Report is what an audit found.
type Report struct {
	Head       Head
	Leaves     int
	Orders     int
	EarlyTotal int64
	Winners    []int64 // draw: the entry numbers admitted by the draw's first admission, in rank order
	// GapPositions counts the late positions the log records as passed over
	// as a gap (reserved by a lost leader, never reported as handed out).
	GapPositions int64
}

// Audit checks drop; receipt (a compact JWS, may be empty) is checked too.
// Any mismatch is returned as a *Mismatch.
func (a *Auditor) Audit(ctx context.Context, drop, receipt string) (Report, error) {
	var rep Report
	var keys JWKS
	if err := a.get(ctx, "/.well-known/jwks.json", &keys); err != nil {
		return rep, err
	}
	var pub struct {
		ShuffleCommitment string `json:"shuffle_commitment"`
	}
	if err := a.get(ctx, "/api/v1/drops/"+url.PathEscape(drop), &pub); err != nil {
		return rep, err
	}
	var f fairnessDoc
	if err := a.get(ctx, "/api/v1/drops/"+url.PathEscape(drop)+"/fairness", &f); err != nil {
		return rep, err
	}
	// 1. The seed and its commitment.
	if f.Algorithm != sale.ShuffleAlgorithm {
		return rep, mismatch("the drop uses algorithm %q; this verifier knows %q", f.Algorithm, sale.ShuffleAlgorithm)
	}
	if pub.ShuffleCommitment != f.ShuffleCommitment {
		return rep, mismatch("the drop shows commitment %s, the fairness answer %s", pub.ShuffleCommitment, f.ShuffleCommitment)
	}
	var seed []byte
	if f.Revealed {
		var err error
		seed, err = hex.DecodeString(f.Seed)
		if err != nil || len(seed) != sale.SeedSize {
			return rep, mismatch("the revealed seed %q is not %d bytes of hex", f.Seed, sale.SeedSize)
		}
		if got := sale.Commitment(seed); got != f.ShuffleCommitment {
			return rep, mismatch("SHA-256 of the revealed seed is %s, but the drop committed to %s: the seed is not the one committed", got, f.ShuffleCommitment)
		}
		a.logf("ok   seed %s… matches the commitment %s…", f.Seed[:16], f.ShuffleCommitment[:16])
	} else {
		a.logf("note the drop has not opened: the seed is not revealed yet (commitment %s)", f.ShuffleCommitment)
	}

	// 2. The signed head, and the leaves under it.
	head, err := VerifyHead(keys, f.Log.Signed)
	if err != nil {
		return rep, mismatch("%v", err)
	}
	if head.Drop != drop {
		return rep, mismatch("the tree head is for drop %q, not %q", head.Drop, drop)
	}
	rep.Head = head
	var tree Tree
	var leaves [][]byte
	for int64(len(leaves)) < head.TreeSize {
		var page struct {
			Entries []struct {
				Index int64  `json:"index"`
				Data  string `json:"data"`
			} `json:"entries"`
		}
		q := fmt.Sprintf("/api/v1/drops/%s/log/entries?start=%d&end=%d", url.PathEscape(drop), len(leaves), head.TreeSize)
		if err := a.get(ctx, q, &page); err != nil {
			return rep, err
		}
		if len(page.Entries) == 0 {
			return rep, mismatch("the log has %d leaves, the signed head says %d", len(leaves), head.TreeSize)
		}
		for _, e := range page.Entries {
			b, err := base64.StdEncoding.DecodeString(e.Data)
			if err != nil || e.Index != int64(len(leaves)) {
				return rep, mismatch("leaf %d is malformed or out of order", len(leaves))
			}
			leaves = append(leaves, b)
			tree.Append(b)
		}
	}
	leaves = leaves[:head.TreeSize]
	root, err := tree.Root(head.TreeSize)
	if err != nil {
		return rep, err
	}
	if !bytes.Equal(root, head.Root()) {
		return rep, mismatch("the %d leaves served hash to root %x, but the signed tree head says %s: the log was altered", head.TreeSize, root, head.RootHash)
	}
	rep.Leaves = len(leaves)
	a.logf("ok   signed tree head: %d leaves, root %s…, signature verified with the JWKS", head.TreeSize, head.RootHash[:16])

	// 3. Every published head is consistent with the current one.
	var heads struct {
		Heads []signedHead `json:"heads"`
	}
	if err := a.get(ctx, "/api/v1/drops/"+url.PathEscape(drop)+"/log/heads", &heads); err != nil {
		return rep, err
	}
	for _, sh := range heads.Heads {
		h, err := VerifyHead(keys, sh.Signed)
		if err != nil {
			return rep, mismatch("a published head: %v", err)
		}
		if h.TreeSize > head.TreeSize {
			continue // published after the head checked above
		}
		var cp struct {
			Proof []string `json:"proof"`
		}
		q := fmt.Sprintf("/api/v1/drops/%s/log/consistency?from=%d&to=%d", url.PathEscape(drop), h.TreeSize, head.TreeSize)
		if err := a.get(ctx, q, &cp); err != nil {
			return rep, err
		}
		p, err := ParseHashes(cp.Proof)
		if err != nil {
			return rep, mismatch("consistency proof: %v", err)
		}
		if err := VerifyConsistency(h.TreeSize, head.TreeSize, p, h.Root(), head.Root()); err != nil {
			return rep, mismatch("the head of %d leaves published earlier is not a prefix of the current log: %v", h.TreeSize, err)
		}
	}
	a.logf("ok   %d published heads are consistent with it (RFC 9162 consistency proofs)", len(heads.Heads))

	// 4. The story the leaves tell, recomputed from the seed.
	if err := a.replay(leaves, drop, seed, &f, &rep); err != nil {
		return rep, err
	}

	// 5. The receipt.
	if receipt != "" {
		if err := a.receipt(ctx, keys, receipt, drop, head, leaves); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func (a *Auditor) replay(leaves [][]byte, drop string, seed []byte, f *fairnessDoc, rep *Report) error {
	var (
		started    bool
		earlyTotal int64
		admitted   int64 // positions [0, admitted) admitted so far
		entries    []string
		units      int64
		draw       = f.Mode == sale.ModeDraw
		firstAdmit = true
		key        uint64
	)
	if seed != nil {
		key = sale.ShuffleKey(seed)
	}
	for i, b := range leaves {
		var l sale.Leaf
		if err := json.Unmarshal(b, &l); err != nil {
			return mismatch("leaf %d is not JSON: %v", i, err)
		}
		if l.LogIndex != int64(i) || l.Drop != drop {
			return mismatch("leaf %d says it is leaf %d of drop %q", i, l.LogIndex, l.Drop)
		}
		switch l.Type {
		case sale.LeafEntry:
			if started || l.Entry == nil || *l.Entry != int64(len(entries)) {
				return mismatch("leaf %d: draw entry out of order", i)
			}
			entries = append(entries, l.CustomerHash)
		case sale.LeafStart:
			if started || l.EarlyTotal == nil {
				return mismatch("leaf %d: a second or malformed start", i)
			}
			started, earlyTotal = true, *l.EarlyTotal
			if l.ShuffleCommitment != f.ShuffleCommitment || l.Algorithm != f.Algorithm {
				return mismatch("leaf %d: the start names commitment %s (%s), the drop %s", i, l.ShuffleCommitment, l.Algorithm, f.ShuffleCommitment)
			}
			if f.EarlyTotal != nil && *f.EarlyTotal != earlyTotal {
				return mismatch("the log placed %d early arrivals, the fairness answer says %d", earlyTotal, *f.EarlyTotal)
			}
			if draw && earlyTotal != int64(len(entries)) {
				return mismatch("the draw ranked %d entrants, but %d entries are in the log", earlyTotal, len(entries))
			}
		case sale.LeafAdmit:
			// Every move of the counter is recorded: each admission starts
			// where the one before it ended.
			if !started || l.From == nil || l.To == nil || *l.To <= *l.From || *l.From != admitted {
				return mismatch("leaf %d: admission [%v, %v) does not follow the admissions before it (up to %d)", i, l.From, l.To, admitted)
			}
			// A gap is late positions a lost leader reserved and never
			// reported as handed out: never early arrivals or draw ranks.
			if l.Gap && (draw || *l.From < earlyTotal) {
				return mismatch("leaf %d: positions [%d, %d) passed over as a gap, but the first %d are early arrivals or draw ranks", i, *l.From, *l.To, earlyTotal)
			}
			if l.Gap {
				rep.GapPositions += *l.To - *l.From
			}
			if draw && firstAdmit && seed != nil {
				ranking := sale.Ranking(seed, earlyTotal)
				rep.Winners = ranking[*l.From:min(*l.To, earlyTotal)]
			}
			firstAdmit = false
			admitted = *l.To
		case sale.LeafOrder:
			if !started || l.Seq == nil || l.Early == nil {
				return mismatch("leaf %d: an order before the start, or without its place", i)
			}
			if seed != nil {
				want, ok := position(key, *l.Early, *l.Seq, earlyTotal)
				if ok && want != l.Position {
					return mismatch("order %s is at position %d, but the revealed seed puts its ticket (early %v, %d) at %d", l.Order, l.Position, *l.Early, *l.Seq, want)
				}
			}
			if l.Position > admitted {
				return mismatch("order %s at position %d was taken before its position was admitted (up to %d)", l.Order, l.Position, admitted)
			}
			if draw && (*l.Seq >= int64(len(entries)) || entries[*l.Seq] != l.CustomerHash) {
				return mismatch("order %s of the draw is not by the entrant it claims (entry %d)", l.Order, *l.Seq)
			}
			units += l.Quantity
			rep.Orders++
		case sale.LeafClose:
		default:
			return mismatch("leaf %d has the unknown type %q", i, l.Type)
		}
	}
	rep.EarlyTotal = earlyTotal
	if seed != nil && started {
		what := "early arrivals"
		if draw {
			what = "draw ranks"
		}
		a.logf("ok   %d orders: every position recomputed from the seed (%s over %d), each admitted before its order", rep.Orders, what, earlyTotal)
	}
	if rep.GapPositions > 0 {
		a.logf("ok   %d late positions passed over as gaps a lost leader left, recorded in the log between the admissions", rep.GapPositions)
	}
	if draw && rep.Winners != nil {
		a.logf("ok   the draw of %d entries is reproducible: winners are entries %v", earlyTotal, rep.Winners)
	}
	st := f.State
	awaiting := int64(0)
	if st.AwaitingPayment != nil {
		awaiting = *st.AwaitingPayment
	}
	if st.Available < 0 || st.Held < 0 || awaiting < 0 || st.Sold < 0 || st.Available+st.Held+awaiting+st.Sold != st.Stock {
		return mismatch("available %d + held %d + awaiting_payment %d + sold %d != stock %d", st.Available, st.Held, awaiting, st.Sold, st.Stock)
	}
	// Orders that expired unpaid or were cancelled returned their units, so
	// the log may hold more ordered units than are sold or awaiting payment,
	// never fewer.
	if units < st.Sold+awaiting || (st.AwaitingPayment == nil && units != st.Sold) {
		return mismatch("the log holds orders for %d units, the drop counts %d sold and %d awaiting payment", units, st.Sold, awaiting)
	}
	a.logf("ok   available %d + held %d + awaiting_payment %d + sold %d == stock %d; the log's orders account for them", st.Available, st.Held, awaiting, st.Sold, st.Stock)
	return nil
}

// position recomputes the 1-based position of a ticket; false when the spec
// does not fix it (an early index the start did not count).
func position(key uint64, early bool, seq, earlyTotal int64) (int64, bool) {
	if !early {
		return earlyTotal + seq + 1, true
	}
	if seq < 0 || seq >= earlyTotal {
		return 0, false
	}
	return sale.Permute(key, uint64(seq), uint64(earlyTotal)) + 1, true
}

func (a *Auditor) receipt(ctx context.Context, keys JWKS, token, drop string, head Head, leaves [][]byte) error {
	r, err := VerifyReceipt(keys, token)
	if err != nil {
		return mismatch("%v", err)
	}
	if r.Drop != drop {
		return mismatch("the receipt is for drop %q, not %q", r.Drop, drop)
	}
	if r.LogIndex < 0 || r.LogIndex >= head.TreeSize {
		return mismatch("the receipt's leaf %d is not under the signed head of %d leaves", r.LogIndex, head.TreeSize)
	}
	var ip struct {
		Index    int64    `json:"index"`
		TreeSize int64    `json:"tree_size"`
		Proof    []string `json:"proof"`
	}
	q := fmt.Sprintf("/api/v1/drops/%s/log/proof?index=%d&size=%d", url.PathEscape(drop), r.LogIndex, head.TreeSize)
	if err := a.get(ctx, q, &ip); err != nil {
		return err
	}
	p, err := ParseHashes(ip.Proof)
	if err != nil {
		return mismatch("inclusion proof: %v", err)
	}
	if err := VerifyInclusion(r.LogIndex, head.TreeSize, LeafHash(r.Payload), p, head.Root()); err != nil {
		return mismatch("the receipt of order %s is not in the signed log: %v", r.Order, err)
	}
	if !bytes.Equal(leaves[r.LogIndex], r.Payload) {
		return mismatch("leaf %d differs from the receipt", r.LogIndex)
	}
	sum := sha256.Sum256(r.Payload)
	a.logf("ok   receipt of order %s (position %d) signed by the JWKS key and included at leaf %d (leaf digest %s…)", r.Order, r.Position, r.LogIndex, hex.EncodeToString(sum[:8]))
	return nil
}

// ReceiptFrom reads a receipt from a file's content: the compact JWS alone,
// or a JSON order with a "receipt" field.
func ReceiptFrom(b []byte) (string, error) {
	s := strings.TrimSpace(string(b))
	if strings.HasPrefix(s, "{") {
		var o struct {
			Receipt string `json:"receipt"`
		}
		if err := json.Unmarshal([]byte(s), &o); err != nil || o.Receipt == "" {
			return "", fmt.Errorf("the file is JSON without a \"receipt\" field")
		}
		return o.Receipt, nil
	}
	if strings.Count(s, ".") != 2 {
		return "", fmt.Errorf("the file holds neither a compact JWS nor an order with a receipt")
	}
	return s, nil
}
