package fairness

import (
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/base64"
	"runtime"
	"sync"
	"unsafe"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"

	"github.com/floodgate/floodgate/internal/ed25519key"
	"github.com/floodgate/floodgate/internal/presign"
)

// Every order's answer carries its receipt, an Ed25519 signature, which was
// the largest part of an order's CPU. The answer to the order itself is
// signed from a nonce prepared ahead when the node has one (internal/presign:
// the leader's pool for the ticket key while a drop is on sale), which
// leaves one SHA-512 and one multiply-add; such a receipt is an ordinary
// Ed25519 JWS, but not the same bytes as any other receipt of the order.
// Without a nonce, and when an order is read later, the receipt is RFC
// 8032's deterministic signature; what can be shared then is
// the last step, the encoding of each R = r·B, whose field inversion is
// about a quarter of a signature. The orders of one committed batch are
// answered at the same moment, so their receipts are signed together: one
// inversion for all of them (Montgomery's trick), the rest of each signature
// as crypto/ed25519 does it, and the same bytes (TestBatchSignAsEd25519).

// expandedKey is the receipts' private key in the form signing uses.
type expandedKey struct{ ed25519key.Key }

// expand returns the expanded form of priv, or nil when priv is not a
// consistent Ed25519 private key (ed25519.Sign then decides).
func expand(priv ed25519.PrivateKey) *expandedKey {
	if k := ed25519key.Expand(priv); k != nil {
		return &expandedKey{*k}
	}
	return nil
}

// signBatch writes the Ed25519 signature of msgs[i] to sigs[i], the same
// bytes as ed25519.Sign.
func (k *expandedKey) signBatch(msgs [][]byte, sigs [][ed25519.SignatureSize]byte) {
	n := len(msgs)
	rs := make([]edwards25519.Scalar, n)
	points := make([]edwards25519.Point, n)
	var d [sha512.Size]byte
	h := sha512.New()
	for i, m := range msgs {
		h.Reset()
		h.Write(k.Prefix[:])
		h.Write(m)
		if _, err := rs[i].SetUniformBytes(h.Sum(d[:0])); err != nil {
			panic("fairness: " + err.Error()) // 64 bytes are always accepted
		}
		points[i].ScalarBaseMult(&rs[i])
	}
	// R_i's affine coordinates need 1/Z_i: one inversion of the product
	// of all Z, then two multiplications per point to take each out.
	prefix := make([]field.Element, n) // prefix[i] = Z_0 ⋯ Z_{i-1}
	var acc field.Element
	acc.One()
	for i := range points {
		prefix[i].Set(&acc)
		_, _, z, _ := points[i].ExtendedCoordinates()
		acc.Multiply(&acc, z)
	}
	var inv field.Element
	inv.Invert(&acc) // 1 / (Z_0 ⋯ Z_{n-1})
	for i := n - 1; i >= 0; i-- {
		x, y, z, _ := points[i].ExtendedCoordinates()
		var zInv, ax, ay field.Element
		zInv.Multiply(&inv, &prefix[i]) // 1 / Z_i
		inv.Multiply(&inv, z)           // 1 / (Z_0 ⋯ Z_{i-1})
		ax.Multiply(x, &zInv)
		ay.Multiply(y, &zInv)
		copy(sigs[i][:32], ay.Bytes())
		sigs[i][31] |= byte(ax.IsNegative() << 7)
	}
	for i, m := range msgs {
		k.Finish(&sigs[i], &rs[i], (*[32]byte)(sigs[i][:32]), m)
	}
	for i := range rs {
		rs[i] = edwards25519.Scalar{}
	}
}

// ReceiptSigner signs receipts with one key. The receipt in the answer that
// creates an order (SignReceiptAhead) takes a nonce from the pool prepared
// for the key when it has one. Otherwise, and for the receipts of orders read later
// (SignReceipt, SignReceipts: a buyer's page polls its order, lists), a
// receipt is the deterministic signature, the receipts asked for at the
// same moment by different goroutines signed together (at most one batch
// per CPU at a time, so a burst of answers uses every core). Reads come
// steadily: taking nonces for them would drain the pool and, as it refills
// only in lulls of signatures, keep it from ever refilling.
type ReceiptSigner struct {
	sg     Signer
	header string          // the receipts' protected header, base64url
	key    *expandedKey    // nil: every receipt through Signer.Sign
	ahead  *presign.Pool   // nonces prepared for sg.Key; nil: none
	counts *presign.Counts // how receipts were signed; may be nil

	mu      sync.Mutex
	pending []*receiptJob
	signing int // goroutines signing a batch
}

type receiptJob struct {
	signing []byte // header "." payload, both base64url
	sig     [ed25519.SignatureSize]byte
	done    chan struct{}
}

// NewReceiptSigner returns a ReceiptSigner for sg's key that signs from
// ahead, nonces prepared for that key, when it has one (nil: never), and
// counts in counts (nil: nowhere) how each receipt SignReceiptAhead gave
// was signed.
func NewReceiptSigner(sg Signer, ahead *presign.Pool, counts *presign.Counts) *ReceiptSigner {
	return &ReceiptSigner{sg: sg, header: encodedHeader(sg.Kid, TypeReceipt), key: expand(sg.Key), ahead: ahead, counts: counts}
}

// Kid is the key id the receipts name.
func (s *ReceiptSigner) Kid() string { return s.sg.Kid }

// Key is the key the receipts are signed with.
func (s *ReceiptSigner) Key() ed25519.PrivateKey { return s.sg.Key }

// SignReceipts returns the receipts of payloads, the same tokens as
// Signer.SignReceipt gives each.
func (s *ReceiptSigner) SignReceipts(payloads ...[]byte) []string {
	out := make([]string, len(payloads))
	if s.key == nil {
		for i, p := range payloads {
			out[i] = s.sg.SignReceipt(p)
		}
		return out
	}
	jobs := make([]receiptJob, len(payloads))
	for i, p := range payloads {
		jobs[i].signing = s.signingInput(p)
	}
	if len(jobs) == 1 {
		s.join(&jobs[0])
	} else {
		// A list signs its own batch.
		msgs := make([][]byte, len(jobs))
		sigs := make([][ed25519.SignatureSize]byte, len(jobs))
		for i := range jobs {
			msgs[i] = jobs[i].signing
		}
		s.key.signBatch(msgs, sigs)
		for i := range jobs {
			jobs[i].sig = sigs[i]
		}
	}
	for i := range jobs {
		out[i] = jobs[i].token()
	}
	return out
}

// SignReceipt is SignReceipts of one payload, without the lists.
func (s *ReceiptSigner) SignReceipt(payload []byte) string {
	return s.signOne(payload, false)
}

// SignReceiptAhead is the receipt in the answer that creates an order:
// signed from a prepared nonce when the pool has one (not the same bytes as any other
// receipt of the order), otherwise as SignReceipt.
func (s *ReceiptSigner) SignReceiptAhead(payload []byte) string {
	return s.signOne(payload, true)
}

func (s *ReceiptSigner) signOne(payload []byte, ahead bool) string {
	if s.key == nil {
		return s.sg.SignReceipt(payload)
	}
	b := s.appendSigned(make([]byte, 0, s.receiptLen(len(payload))), payload, ahead)
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// AppendReceiptAhead appends SignReceiptAhead(payload) to dst: the receipt
// is signed where its header and payload are appended, without a buffer of
// its own, so that the answer to an order can carry it unallocated.
func (s *ReceiptSigner) AppendReceiptAhead(dst, payload []byte) []byte {
	if s.key == nil {
		return append(dst, s.sg.SignReceipt(payload)...)
	}
	return s.appendSigned(dst, payload, true)
}

// appendSigned appends p's receipt to dst: its signing input (header and
// payload, base64url), signed in place, then its signature. ahead says
// whether a prepared nonce may sign it (SignReceiptAhead).
func (s *ReceiptSigner) appendSigned(dst, p []byte, ahead bool) []byte {
	start := len(dst)
	dst = s.appendSigningInput(dst, p)
	signing := dst[start:]
	var sig [ed25519.SignatureSize]byte
	// Signed here from a prepared nonce, the signature stays on the stack:
	// no job to share with a batch.
	if !ahead || !s.ahead.Sign(s.sg.Key, s.counts, &sig, signing) {
		j := &receiptJob{signing: signing}
		s.join(j)
		sig = j.sig
	}
	return appendSignature(dst, &sig)
}

// receiptLen is the length of a receipt of an n-byte payload.
func (s *ReceiptSigner) receiptLen(n int) int {
	enc := base64.RawURLEncoding
	return len(s.header) + 1 + enc.EncodedLen(n) + 1 + enc.EncodedLen(ed25519.SignatureSize)
}

// signingInput is the header and payload of p's receipt, base64url, with
// room after them for the signature.
func (s *ReceiptSigner) signingInput(p []byte) []byte {
	return s.appendSigningInput(make([]byte, 0, s.receiptLen(len(p))), p)
}

// appendSigningInput appends the header and payload of p's receipt,
// base64url, to dst.
func (s *ReceiptSigner) appendSigningInput(dst, p []byte) []byte {
	dst = append(dst, s.header...)
	dst = append(dst, '.')
	return base64.RawURLEncoding.AppendEncode(dst, p)
}

// token is the signed receipt.
func (j *receiptJob) token() string { return tokenOf(j.signing, &j.sig) }

// tokenOf is the receipt of signing (from signingInput) and its signature,
// appended in signing's room for it: the token's string is those bytes,
// not a copy of them. signing must not be used again.
func tokenOf(signing []byte, sig *[ed25519.SignatureSize]byte) string {
	b := appendSignature(signing, sig)
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// appendSignature appends a receipt's signature, after its signing input.
func appendSignature(dst []byte, sig *[ed25519.SignatureSize]byte) []byte {
	return base64.RawURLEncoding.AppendEncode(append(dst, '.'), sig[:])
}

// join signs j with whatever other receipts are waiting: it queues j and,
// unless every CPU is already signing a batch, signs the queue itself.
func (s *ReceiptSigner) join(j *receiptJob) {
	s.mu.Lock()
	s.pending = append(s.pending, j)
	if s.signing >= runtime.GOMAXPROCS(0) {
		j.done = make(chan struct{})
		s.mu.Unlock()
		<-j.done
		return
	}
	s.signing++
	for len(s.pending) > 0 {
		batch := s.pending
		s.pending = nil
		s.mu.Unlock()
		msgs := make([][]byte, len(batch))
		sigs := make([][ed25519.SignatureSize]byte, len(batch))
		for i, b := range batch {
			msgs[i] = b.signing
		}
		s.key.signBatch(msgs, sigs)
		s.mu.Lock()
		for i, b := range batch {
			b.sig = sigs[i]
			if b.done != nil {
				close(b.done)
			}
		}
	}
	s.signing--
	s.mu.Unlock()
}
