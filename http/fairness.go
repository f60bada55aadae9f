package http

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/fairness"
	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/internal/presign"
	"github.com/floodgate/floodgate/queue"
	"github.com/floodgate/floodgate/sale"
)

// fairRequest holds the fields of POST /api/v1/drops about draws and presale.
type fairRequest struct {
	Mode             string     `json:"mode,omitempty"`
	EntryEndsAt      *time.Time `json:"entry_ends_at,omitempty"`
	ClaimSeconds     *int64     `json:"claim_seconds,omitempty"`
	PresaleUntil     *time.Time `json:"presale_until,omitempty"`
	PresaleCustomers []string   `json:"presale_customers,omitempty"`
	PresaleCodes     []string   `json:"presale_codes,omitempty"`
}

// apply copies the request's fields into spec; ValidateSpec checks them.
func (f *fairRequest) apply(spec *sale.DropSpec) error {
	spec.Mode = f.Mode
	if err := setUnixMilli(&spec.EntryEndsAt, "entry_ends_at", f.EntryEndsAt); err != nil {
		return err
	}
	if f.ClaimSeconds != nil {
		spec.ClaimSeconds = *f.ClaimSeconds
	} else if f.Mode == sale.ModeDraw {
		spec.ClaimSeconds = sale.DefaultClaimSeconds
	}
	if err := setUnixMilli(&spec.PresaleUntil, "presale_until", f.PresaleUntil); err != nil {
		return err
	}
	for _, c := range f.PresaleCustomers {
		// Customers are lower-case emails (or identity provider subjects).
		spec.PresaleCustomers = append(spec.PresaleCustomers, strings.ToLower(strings.TrimSpace(c)))
	}
	spec.PresaleCodes = f.PresaleCodes
	return nil
}

// newShuffleSeed draws the secret seed a new drop commits to.
func newShuffleSeed() []byte {
	seed := make([]byte, sale.SeedSize)
	_, _ = rand.Read(seed)
	return seed
}

func (s *Server) signer() (fairness.Signer, error) {
	sg, _, err := s.signerAhead()
	return sg, err
}

// signerAhead is signer and the nonces prepared for its key (nil: none).
func (s *Server) signerAhead() (fairness.Signer, *presign.Pool, error) {
	keys, _, err := s.cfg.Queue.Keys()
	if err != nil {
		return fairness.Signer{}, nil, err
	}
	return fairness.Signer{Key: keys.TicketKey, Kid: keys.KeyID}, keys.Presigned(), nil
}

// withReceipt adds its receipt to o, when it has a log leaf: the
// deterministic receipt, the same bytes on every node and at every read.
// Only the answer that creates an order signs its receipt from a nonce
// prepared ahead, when there is one (writeCreatedOrder,
// fairness.ReceiptSigner), so that receipts take at most one nonce per
// order created, a drop's stock in all, however often an order is replayed
// or read.
func (s *Server) withReceipt(o *floodgate.Order) {
	if rs, p, ok := s.receiptOf(o.ID); ok {
		o.Receipt = rs.SignReceipt(p)
	}
}

// receiptOf is the receipt signer and the receipt payload of order id;
// false when there is no signer yet or the order has no log leaf.
func (s *Server) receiptOf(id string) (rs *fairness.ReceiptSigner, p []byte, ok bool) {
	sg, ahead, err := s.signerAhead()
	if err != nil {
		return nil, nil, false
	}
	l := receiptLookups.Get().(*receiptLookup)
	l.id = id
	s.cfg.Store.Read(l.read)
	p, ok = l.payload, l.ok
	*l = receiptLookup{read: l.read}
	receiptLookups.Put(l)
	return s.receiptSigner(sg, ahead), p, ok
}

// receiptLookup is receiptOf's read of the state, reused: a closure handed
// to Store.Read would be allocated for every order.
type receiptLookup struct {
	id      string
	payload []byte
	ok      bool
	read    func(st *sale.State)
}

var receiptLookups = sync.Pool{New: func() any {
	l := new(receiptLookup)
	l.read = func(st *sale.State) { l.payload, l.ok = st.ReceiptPayload(l.id) }
	return l
}}

// withReceipts adds the signed receipt to each order read (the buyer's
// page, lists) that has a log leaf: the deterministic signature, the same
// bytes on every node and at every read.
func (s *Server) withReceipts(orders []floodgate.Order) {
	if len(orders) == 1 {
		s.withReceipt(&orders[0])
		return
	}
	sg, ahead, err := s.signerAhead()
	if err != nil {
		return
	}
	rs := s.receiptSigner(sg, ahead)
	payloads := make([][]byte, 0, len(orders))
	at := make([]int, 0, len(orders))
	s.cfg.Store.Read(func(st *sale.State) {
		for i, o := range orders {
			if p, ok := st.ReceiptPayload(o.ID); ok {
				payloads = append(payloads, p)
				at = append(at, i)
			}
		}
	})
	if len(payloads) == 0 {
		return
	}
	for i, r := range rs.SignReceipts(payloads...) {
		orders[at[i]].Receipt = r
	}
}

// receiptSigner is the receipt signer of sg's key, kept while the key is
// the same: it signs the answers to orders from ahead, the nonces the
// leader prepares for that key while a drop is on sale (shared with the
// join tickets), and the rest together with the receipts asked for at the
// same moment.
func (s *Server) receiptSigner(sg fairness.Signer, ahead *presign.Pool) *fairness.ReceiptSigner {
	if rs := s.receipts.Load(); rs != nil && rs.Kid() == sg.Kid && rs.Key().Equal(sg.Key) {
		return rs
	}
	rs := fairness.NewReceiptSigner(sg, ahead, &s.receiptSigns)
	s.receipts.Store(rs)
	return rs
}

// registerReceiptMetrics exports how receipts were signed on this node.
func (s *Server) registerReceiptMetrics(reg prometheus.Registerer) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "floodgate_receipt_signatures_prepared_total",
			Help: "Receipts in the answers that create orders signed with a nonce prepared ahead (--sign-ahead, shared with the tickets)."},
			func() float64 { return float64(s.receiptSigns.Prepared.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "floodgate_receipt_signatures_inline_total",
			Help: "Receipts in the answers that create orders signed in full (deterministically) because no prepared nonce was left on a node that prepares them (not counted with --sign-ahead 0, nor on a node that does not lead)."},
			func() float64 { return float64(s.receiptSigns.Inline.Load()) }),
	)
}

// fairnessAnswer is GET /api/v1/drops/{drop}/fairness.
type fairnessAnswer struct {
	Drop              string `json:"drop"`
	Mode              string `json:"mode"`
	Algorithm         string `json:"algorithm"`
	Spec              string `json:"spec"`
	ShuffleCommitment string `json:"shuffle_commitment"`
	Revealed          bool   `json:"revealed"`
	RevealsAt         string `json:"reveals_at"`
	Seed              string `json:"seed,omitempty"`
	ShuffleKey        string `json:"shuffle_key,omitempty"`
	// EarlyTotal is the number of early arrivals the seed placed (for a
	// draw: the number of entries it ranked).
	EarlyTotal   *int64         `json:"early_total,omitempty"`
	AdmittedUpTo int64          `json:"admitted_up_to"`
	State        floodgate.Drop `json:"state"`
	Log          headAnswer     `json:"log"`
}

// headAnswer is a signed tree head and what it says.
type headAnswer = fairness.SignedHead

func (s *Server) fairness(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("drop")
	var (
		a     fairnessAnswer
		ok    bool
		size  int64
		at    int64
		final bool
	)
	now := s.cfg.Now().UnixMilli()
	s.cfg.Store.Read(func(st *sale.State) {
		d, found := st.Drops[id]
		if !found || len(d.ShuffleSeed) == 0 {
			return
		}
		ok = true
		a = fairnessAnswer{
			Drop: id, Algorithm: sale.ShuffleAlgorithm, Spec: "docs/fairness-spec.md",
			ShuffleCommitment: sale.Commitment(d.ShuffleSeed),
			RevealsAt:         sale.LogTime(max(d.Spec.StartsAt, d.Spec.EntryEndsAt)),
			AdmittedUpTo:      d.AdmittedUpTo,
			State:             sale.PublicDrop(d, now),
		}
		a.Mode = a.State.Mode
		if d.Started {
			a.Revealed = true
			a.Seed = hex.EncodeToString(d.ShuffleSeed)
			a.ShuffleKey = strconv.FormatUint(sale.ShuffleKey(d.ShuffleSeed), 16)
			total := d.EarlyTotal
			a.EarlyTotal = &total
		}
		size = int64(d.Log.Len())
		at = d.HeadAt(size)
		for _, m := range d.Heads {
			final = final || (m.Final && m.Size == size)
		}
	})
	if !ok {
		api.WriteError(w, floodgate.Errorf(floodgate.ENotFound, "There is no drop %q with a committed shuffle seed.", id))
		return
	}
	h, err := s.head(id, size, at, final)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	a.Log = h
	api.WriteJSON(w, http.StatusOK, a)
}

// head signs the tree head of drop at size.
func (s *Server) head(drop string, size, at int64, final bool) (headAnswer, error) {
	t, err := s.logs.Sync(drop)
	if err != nil {
		return headAnswer{}, err
	}
	root, err := t.Root(size)
	if err != nil {
		return headAnswer{}, floodgate.Errorf(floodgate.EUnavailable, "The log of this node is behind; retry in a moment.")
	}
	sg, err := s.signer()
	if err != nil {
		return headAnswer{}, err
	}
	h := fairness.Head{Drop: drop, TreeSize: size, RootHash: hex.EncodeToString(root), At: sale.LogTime(at), Final: final}
	return headAnswer{Head: h, Signed: sg.SignHead(h)}, nil
}

// queryInt reads an optional integer query parameter in [0, max].
func queryInt(r *http.Request, name string, def, max int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > max {
		return 0, floodgate.Errorf(floodgate.EInvalid, "%q must be an integer between 0 and %d.", name, max)
	}
	return n, nil
}

// logSize returns the size of drop's log and the time and finality of the
// head of the given size (-1: the current size).
func (s *Server) logSize(drop string, want int64) (size, at int64, final bool, err error) {
	var ok bool
	s.cfg.Store.Read(func(st *sale.State) {
		d, found := st.Drops[drop]
		if ok = found; !found {
			return
		}
		size = int64(d.Log.Len())
		if want >= 0 && want <= size {
			size = want
		} else if want > size {
			ok, size = false, -1
			return
		}
		at = d.HeadAt(size)
		for _, m := range d.Heads {
			if m.Size == size && m.Final {
				final = true
			}
		}
	})
	if size < 0 {
		return 0, 0, false, floodgate.Errorf(floodgate.EInvalid, "The log of drop %q is smaller than %d leaves.", drop, want)
	}
	if !ok {
		return 0, 0, false, floodgate.Errorf(floodgate.ENotFound, "There is no drop %q.", drop)
	}
	return size, at, final, nil
}

// requestedLogSize is logSize for the size the request names (?size=N),
// or the current size.
func (s *Server) requestedLogSize(r *http.Request, drop string) (size, at int64, final bool, err error) {
	want, err := queryInt(r, "size", -1, 1<<40)
	if err != nil {
		return 0, 0, false, err
	}
	return s.logSize(drop, want)
}

func (s *Server) logHead(w http.ResponseWriter, r *http.Request) {
	drop := r.PathValue("drop")
	size, at, final, err := s.requestedLogSize(r, drop)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	h, err := s.head(drop, size, at, final)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, h)
}

func (s *Server) logHeads(w http.ResponseWriter, r *http.Request) {
	drop := r.PathValue("drop")
	var (
		marks []sale.HeadMark
		ok    bool
	)
	s.cfg.Store.Read(func(st *sale.State) {
		var d *sale.Drop
		if d, ok = st.Drops[drop]; ok {
			for _, m := range d.Heads {
				// A head's time is that of its last leaf, as on log/head.
				m.At = d.HeadAt(m.Size)
				marks = append(marks, m)
			}
		}
	})
	if !ok {
		api.WriteError(w, floodgate.Errorf(floodgate.ENotFound, "There is no drop %q.", drop))
		return
	}
	sg, err := s.signer()
	if err != nil {
		api.WriteError(w, err)
		return
	}
	out, err := s.logs.PublishedHeads(drop, sg.Kid, marks, func(m sale.HeadMark) (headAnswer, error) {
		return s.head(drop, m.Size, m.At, m.Final)
	})
	if err != nil {
		api.WriteError(w, err)
		return
	}
	if out == nil {
		out = []headAnswer{}
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"heads": out})
}

// maxLogEntries is the most leaves one call of log/entries returns.
const maxLogEntries = 1000

type logEntry struct {
	Index int64  `json:"index"`
	Data  string `json:"data"` // base64 (standard, padded) of the leaf bytes
}

func (s *Server) logEntries(w http.ResponseWriter, r *http.Request) {
	drop := r.PathValue("drop")
	start, err := queryInt(r, "start", 0, 1<<40)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	end, err := queryInt(r, "end", start+maxLogEntries, 1<<40)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	end = min(end, start+maxLogEntries)
	var (
		out = []logEntry{}
		ok  bool
	)
	s.cfg.Store.Read(func(st *sale.State) {
		if _, ok = st.Drops[drop]; !ok {
			return
		}
		for i := start; i < end; i++ {
			b, found := st.LogLeaf(drop, i)
			if !found {
				break
			}
			out = append(out, logEntry{Index: i, Data: base64.StdEncoding.EncodeToString(b)})
		}
	})
	if !ok {
		api.WriteError(w, floodgate.Errorf(floodgate.ENotFound, "There is no drop %q.", drop))
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"entries": out})
}

func (s *Server) logProof(w http.ResponseWriter, r *http.Request) {
	drop := r.PathValue("drop")
	index, err := queryInt(r, "index", -1, 1<<40)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	if oid := r.URL.Query().Get("order"); oid != "" {
		index = -1
		s.cfg.Store.Read(func(st *sale.State) {
			if o := st.Orders.Get(oid); o != nil && o.Drop == drop && o.LogSeq > 0 {
				index = o.LogSeq - 1
			}
		})
		if index < 0 {
			api.WriteError(w, floodgate.Errorf(floodgate.ENotFound, "Drop %q has no logged order %q.", drop, oid))
			return
		}
	}
	if index < 0 {
		api.WriteError(w, floodgate.Errorf(floodgate.EInvalid, "Name the leaf: ?index=N or ?order=ID (and optionally &size=N)."))
		return
	}
	size, _, _, err := s.requestedLogSize(r, drop)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	if index >= size {
		api.WriteError(w, floodgate.Errorf(floodgate.EInvalid, "Leaf %d is not in a tree of %d leaves.", index, size))
		return
	}
	p, ok := s.proof(w, drop, func(t *fairness.Tree) ([][]byte, error) { return t.Inclusion(index, size) })
	if ok {
		api.WriteJSON(w, http.StatusOK, map[string]any{"index": index, "tree_size": size, "proof": p})
	}
}

// proof brings this node's tree of the drop up to date and asks it for a
// proof; a tree that cannot give one is behind the log (503, retry).
func (s *Server) proof(w http.ResponseWriter, drop string, prove func(*fairness.Tree) ([][]byte, error)) ([]string, bool) {
	t, err := s.logs.Sync(drop)
	if err != nil {
		api.WriteError(w, err)
		return nil, false
	}
	p, err := prove(t)
	if err != nil {
		api.WriteError(w, floodgate.Errorf(floodgate.EUnavailable, "The log of this node is behind; retry in a moment."))
		return nil, false
	}
	return fairness.HexHashes(p), true
}

func (s *Server) logConsistency(w http.ResponseWriter, r *http.Request) {
	drop := r.PathValue("drop")
	from, err := queryInt(r, "from", 0, 1<<40)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	to, err := queryInt(r, "to", 0, 1<<40)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	if from > to {
		api.WriteError(w, floodgate.Errorf(floodgate.EInvalid, "\"from\" (%d) must not be larger than \"to\" (%d).", from, to))
		return
	}
	if _, _, _, err := s.logSize(drop, to); err != nil {
		api.WriteError(w, err)
		return
	}
	p, ok := s.proof(w, drop, func(t *fairness.Tree) ([][]byte, error) { return t.Consistency(from, to) })
	if ok {
		api.WriteJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "proof": p})
	}
}

type entryRequest struct {
	Session string `json:"session"`
	// Challenge is the solution of the drop's join challenge (challenge.go).
	Challenge *queue.Solution `json:"challenge,omitempty"`
}

// entryAnswer is what an entrant is told; a winner gets the ticket that
// claims the win through the normal hold and order calls.
type entryAnswer struct {
	Drop string `json:"drop"`
	sale.EntryStatus
	EntryEndsAt time.Time  `json:"entry_ends_at"`
	ClaimBy     *time.Time `json:"claim_by,omitempty"`
	Ticket      string     `json:"ticket,omitempty"`
}

func (s *Server) createEntry(w http.ResponseWriter, r *http.Request) {
	drop := r.PathValue("drop")
	var req entryRequest
	if err := api.Decode(r, &req); err != nil {
		api.WriteError(w, err)
		return
	}
	// The buyer page sends no session: its session is the HttpOnly cookie,
	// which is SameSite=Lax, and a JSON body is no form another site can
	// post.
	jsonBody := strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
	customer, err := s.buyer(r, req.Session, jsonBody, "\"session\" is required: sign in first, then enter the draw.")
	if err != nil {
		api.WriteError(w, err)
		return
	}
	var entered bool
	s.cfg.Store.Read(func(st *sale.State) { _, entered = st.EntryOf(drop, customer, 0) })
	created := false
	if !entered {
		// An entry pays the drop's join challenge, as a queue join does.
		ch, err := s.cfg.Queue.Gated(r.Context(), drop, clientIPOf(r), req.Challenge, func() error {
			res, err := s.apply(r.Context(), &sale.Command{Kind: sale.KindEnter, Drop: drop, Customer: customer})
			created = res.Created
			return err
		})
		if turnedBack(w, ch, err) {
			return
		}
	}
	a, err := s.entryAnswer(drop, customer)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.WriteCreated(w, created, a)
}

func (s *Server) myEntry(w http.ResponseWriter, r *http.Request) {
	drop := r.PathValue("drop")
	// The buyer page sends its cookie (a GET changes nothing).
	customer, err := s.buyer(r, api.BearerToken(r), true, "Send your session as \"Authorization: Bearer <session>\".")
	if err != nil {
		api.WriteError(w, err)
		return
	}
	a, err := s.entryAnswer(drop, customer)
	if err != nil {
		// An entry the leader took a moment ago may not be applied here.
		if floodgate.ErrorCode(err) == floodgate.ENotFound && s.askLeader(w, r) {
			return
		}
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, a)
}

// entryAnswer reads customer's entry in drop; a winner gets a claim ticket.
func (s *Server) entryAnswer(drop, customer string) (entryAnswer, error) {
	now := s.cfg.Now()
	var (
		st     sale.EntryStatus
		found  bool
		isDraw bool
		ends   int64
	)
	s.cfg.Store.Read(func(state *sale.State) {
		d, ok := state.Drops[drop]
		if !ok {
			return
		}
		isDraw, ends = d.IsDraw(), d.Spec.EntryEndsAt
		st, found = state.EntryOf(drop, customer, now.UnixMilli())
	})
	if !isDraw {
		return entryAnswer{}, floodgate.Errorf(floodgate.ENotFound, "There is no draw %q.", drop)
	}
	if !found {
		return entryAnswer{}, floodgate.Errorf(floodgate.ENotFound, "You have not entered this draw; enter with POST /api/v1/drops/%s/entries.", drop)
	}
	a := entryAnswer{Drop: drop, EntryStatus: st, EntryEndsAt: sale.Time(ends)}
	if st.State == sale.EntryWon {
		t := sale.Time(st.ClaimBy)
		a.ClaimBy = &t
		keys, _, err := s.cfg.Queue.Keys()
		if err != nil {
			return entryAnswer{}, err
		}
		c := &queue.Claims{
			Drop: drop, Visitor: sale.DrawVisitor(drop, customer), Early: true, Seq: st.Index, Position: st.Rank,
			RegisteredClaims: jwt.RegisteredClaims{IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(queue.TicketTTL))},
		}
		if a.Ticket, err = queue.SignTicket(keys, c); err != nil {
			return entryAnswer{}, err
		}
	}
	return a, nil
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(floodgate.OpenAPI)
}

// joinRequest is the optional body of POST /api/v1/drops/{drop}/queue.
type joinRequest struct {
	Presale *presaleRequest `json:"presale,omitempty"`
	// Challenge is the solution of the join challenge (challenge.go).
	Challenge *queue.Solution `json:"challenge,omitempty"`
}

// presaleRequest is how a visitor gets in during a presale: the session of
// a customer on the list, or a one-time code.
type presaleRequest struct {
	Session string `json:"session,omitempty"`
	Code    string `json:"code,omitempty"`
}

// presaleGate lets a join through during a drop's presale only for an
// invited customer or with an unused one-time code (which it spends).
func (s *Server) presaleGate(ctx context.Context, drop string, p *presaleRequest) error {
	now := s.cfg.Now()
	var (
		in    bool
		until int64
		d     *sale.Drop
	)
	s.cfg.Store.Read(func(st *sale.State) {
		if d = st.Drops[drop]; d != nil {
			in, until = d.InPresale(now.UnixMilli()), d.Spec.PresaleUntil
		}
	})
	if !in {
		return nil
	}
	closed := floodgate.Errorf(floodgate.EForbidden, "This drop is open to invited customers until %s: join with {\"presale\": {\"session\": ...}} as an invited customer, or {\"presale\": {\"code\": ...}} with your code.", sale.LogTime(until))
	switch {
	case p == nil || (p.Session == "" && p.Code == ""):
		return closed
	case p.Code != "":
		if len(p.Code) > 200 {
			return floodgate.Errorf(floodgate.EInvalid, "\"code\" is at most 200 bytes.")
		}
		_, err := s.apply(ctx, &sale.Command{Kind: sale.KindUsePresaleCode, Drop: drop, Code: p.Code})
		return err
	}
	customer, err := s.cfg.Sessions.Verify(p.Session, now)
	if err != nil {
		return err
	}
	var allowed bool
	s.cfg.Store.Read(func(st *sale.State) {
		if d := st.Drops[drop]; d != nil {
			allowed = d.PresaleAllows(customer)
		}
	})
	if !allowed {
		return floodgate.Errorf(floodgate.EForbidden, "%s is not on this drop's presale list; it opens to everyone at %s.", customer, sale.LogTime(until))
	}
	return nil
}
