package http

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/sale"
)

// operator is the audit log's view of the caller of r (CallerOf resolves
// the credential once, in admin).
func (s *Server) operator(r *http.Request) *sale.Operator {
	c := CallerOf(r)
	op := &sale.Operator{Actor: c.Actor(), Tenant: c.Tenant}
	if ip := clientIPOf(r); ip.IsValid() {
		op.From = ip.String()
	}
	return op
}

// audited wraps an operator's command so that the change and its audit
// entry are one log entry.
func (s *Server) audited(r *http.Request, c *sale.Command) *sale.Command {
	op := s.operator(r)
	if op.Tenant == "" && c.Drop != "" {
		// The root token acting on a tenant's drop: the tenant sees it too.
		op.Tenant, _ = s.DropTenant(c.Drop)
	}
	return &sale.Command{Kind: sale.KindAudited, Op: op, Inner: c}
}

// AuditNote records an operator's change made outside the sale state (an
// incident, say) in the audit log.
func (s *Server) AuditNote(ctx context.Context, r *http.Request, action, target, detail string) error {
	if len(detail) > 1000 {
		detail = detail[:1000]
	}
	_, err := s.apply(ctx, &sale.Command{Kind: sale.KindAuditNote, Op: s.operator(r), Action: action, Target: target, Detail: detail})
	return err
}

type pauseRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) pauseDrop(w http.ResponseWriter, r *http.Request) {
	var req pauseRequest
	if err := decodeOptional(r, &req); err != nil {
		api.WriteError(w, err)
		return
	}
	if len(req.Reason) > sale.MaxReasonLength {
		api.WriteError(w, floodgate.Errorf(floodgate.EInvalid, "\"reason\" is at most %d bytes; every waiting visitor reads it.", sale.MaxReasonLength))
		return
	}
	s.control(w, r, &sale.Command{Kind: sale.KindPauseDrop, Drop: r.PathValue("drop"), Reason: strings.TrimSpace(req.Reason)})
}

func (s *Server) resumeDrop(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if err := decodeOptional(r, &req); err != nil {
		api.WriteError(w, err)
		return
	}
	s.control(w, r, &sale.Command{Kind: sale.KindResumeDrop, Drop: r.PathValue("drop")})
}

// patchDropRequest is the body of PATCH /api/v1/drops/{drop}.
type patchDropRequest struct {
	Name           *string    `json:"name"`
	Stock          *int64     `json:"stock"`
	AdmitPerSecond *int64     `json:"admit_per_second"`
	HoldSeconds    *int64     `json:"hold_seconds"`
	EndsAt         *time.Time `json:"ends_at"`
}

// DropPatchFromJSON decodes a PATCH body into a patch; the state machine
// checks the values against the drop.
func DropPatchFromJSON(body []byte) (*sale.DropPatch, error) {
	var req patchDropRequest
	if err := api.DecodeBytes(body, &req); err != nil {
		return nil, err
	}
	p := &sale.DropPatch{Name: req.Name, Stock: req.Stock, AdmitPerSecond: req.AdmitPerSecond, HoldSeconds: req.HoldSeconds}
	if req.EndsAt != nil {
		p.EndsAt = new(int64)
		if err := setUnixMilli(p.EndsAt, "ends_at", req.EndsAt); err != nil {
			return nil, err
		}
	}
	if p.Empty() {
		return nil, floodgate.Errorf(floodgate.EInvalid, "Nothing to change: send one or more of \"name\", \"stock\", \"admit_per_second\", \"hold_seconds\", \"ends_at\".")
	}
	return p, nil
}

func (s *Server) patchDrop(w http.ResponseWriter, r *http.Request) {
	body, err := api.ReadBody(r)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	p, err := DropPatchFromJSON(body)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	s.control(w, r, &sale.Command{Kind: sale.KindUpdateDrop, Drop: r.PathValue("drop"), Patch: p})
}

// control applies an operator's command, audited, and answers the drop.
func (s *Server) control(w http.ResponseWriter, r *http.Request, c *sale.Command) {
	if err := s.visibleDrop(r, c.Drop); err != nil {
		api.WriteError(w, err)
		return
	}
	res, err := s.apply(r.Context(), s.audited(r, c))
	if err != nil {
		api.WriteError(w, err)
		return
	}
	if res.Created {
		s.log.Info("drop changed", "drop", c.Drop, "action", c.Kind.String(), "detail", res.Detail)
	}
	api.WriteJSON(w, http.StatusOK, res.Drop)
}

// decodeOptional decodes a JSON body that may be empty.
func decodeOptional(r *http.Request, v any) error {
	body, err := api.ReadBody(r)
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(body)) == "" {
		return nil
	}
	return api.DecodeBytes(body, v)
}

// AuditEntry is one entry of GET /api/v1/audit.
type AuditEntry struct {
	Seq uint64    `json:"seq"`
	At  time.Time `json:"at"`
	sale.Operator
	Action string `json:"action"`
	Target string `json:"target"`
	Detail string `json:"detail,omitempty"`
}

// Audit returns the audit log as caller c may see it (a tenant sees its own
// entries), newest first: at most limit entries with a sequence number below
// before (0: from the newest), and only those of target when it is not empty.
func (s *Server) Audit(c floodgate.Caller, target string, before uint64, limit int) []AuditEntry {
	out := []AuditEntry{}
	s.cfg.Store.Read(func(st *sale.State) {
		for i := len(st.Audit) - 1; i >= 0 && len(out) < limit; i-- {
			e := st.Audit[i]
			if before > 0 && e.Seq >= before || target != "" && e.Target != target || !c.Sees(e.Tenant) {
				continue
			}
			out = append(out, AuditEntry{Seq: e.Seq, At: sale.Time(e.At), Operator: e.Operator, Action: e.Action, Target: e.Target, Detail: e.Detail})
		}
	})
	return out
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, before := 1000, uint64(0)
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10_000 {
			api.WriteError(w, floodgate.Errorf(floodgate.EInvalid, "\"limit\" must be between 1 and 10000."))
			return
		}
		limit = n
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			api.WriteError(w, floodgate.Errorf(floodgate.EInvalid, "\"before\" must be the seq of an audit entry."))
			return
		}
		before = n
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"entries": s.Audit(CallerOf(r), q.Get("target"), before, limit)})
}
