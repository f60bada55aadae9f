package status

import (
	"bytes"
	"crypto/subtle"
	"encoding/csv"
	"net/http"
	"strings"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
)

// Handler serves the public page, the feeds and the admin API. Every route
// is under /status, /history.atom, /api/v2/ or /api/v1/{banner, incidents,
// subscribers, unsubscribe, maintenances, deliveries}.
func (s *Service) Handler() http.Handler {
	return securityHeaders(api.Routed(s.mux().ServeMux))
}

// answer decodes the JSON body of r, runs do with it and answers its result
// with status, or its error: the whole of an admin handler that takes a
// body.
func answer[In, Out any](w http.ResponseWriter, r *http.Request, status int, do func(In) (Out, error)) {
	var in In
	if err := api.Decode(r, &in); err != nil {
		api.WriteError(w, err)
		return
	}
	out, err := do(in)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, status, out)
}

// answerID is answer for a route with an {id}, which do gets first.
func answerID[In, Out any](w http.ResponseWriter, r *http.Request, status int, do func(string, In) (Out, error)) {
	answer(w, r, status, func(in In) (Out, error) { return do(r.PathValue("id"), in) })
}

func (s *Service) mux() *api.Router {
	mux := api.NewRouter()
	// Public.
	mux.HandleFunc("GET /status", s.handlePage)
	mux.HandleFunc("GET /history.atom", s.handleAtom)
	mux.HandleFunc("GET /api/v2/summary.json", s.handleSummary)
	mux.HandleFunc("GET /api/v2/status.json", s.handleStatus)
	mux.HandleFunc("GET /api/v2/incidents.json", s.handleIncidentsV2)
	mux.HandleFunc("GET /api/v2/incidents/unresolved.json", s.handleUnresolvedV2)
	mux.HandleFunc("GET /api/v2/components.json", s.handleComponentsV2)
	mux.HandleFunc("GET /api/v2/scheduled-maintenances.json", s.handleMaintenancesV2)
	mux.HandleFunc("GET /api/v2/uptime.json", s.handleUptime)
	mux.HandleFunc("GET /status/widget.js", s.handleWidget)
	mux.HandleFunc("GET /status/badge.svg", s.handleBadge)
	mux.HandleFunc("GET /api/v1/banner", s.handleBanner)
	mux.HandleFunc("GET /api/v1/unsubscribe/{token}", s.handleUnsubscribeForm)
	mux.HandleFunc("POST /api/v1/unsubscribe/{token}", s.handleUnsubscribe)
	mux.HandleFunc("POST /api/v1/subscriptions", s.handleSubscriptionRequest)
	mux.HandleFunc("GET /api/v1/subscriptions/confirm/{token}", s.handleConfirmForm)
	mux.HandleFunc("POST /api/v1/subscriptions/confirm/{token}", s.handleConfirm)
	// Admin.
	mux.HandleFunc("POST /api/v1/incidents", s.admin(s.handleCreateIncident))
	// Reading incidents is public: the page shows the same facts.
	mux.HandleFunc("GET /api/v1/incidents", s.handleListIncidents)
	mux.HandleFunc("GET /api/v1/incidents/{id}", s.handleGetIncident)
	mux.HandleFunc("PATCH /api/v1/incidents/{id}", s.admin(s.handleEditIncident))
	mux.HandleFunc("POST /api/v1/incidents/{id}/updates", s.admin(s.handleAddUpdate))
	mux.HandleFunc("POST /api/v1/incidents/{id}/postmortem", s.admin(s.handlePostmortem))
	mux.HandleFunc("PUT /api/v1/component-groups/{id}", s.admin(s.handlePutGroup))
	mux.HandleFunc("DELETE /api/v1/component-groups/{id}", s.admin(s.handleDeleteGroup))
	mux.HandleFunc("GET /api/v1/incidents/{id}/affected", s.admin(s.handleAffected, tenantsToo))
	mux.HandleFunc("GET /api/v1/incidents/{id}/affected.csv", s.admin(s.handleAffectedCSV, tenantsToo))
	mux.HandleFunc("POST /api/v1/subscribers", s.admin(s.handleSubscribe))
	mux.HandleFunc("GET /api/v1/subscribers", s.admin(s.handleListSubscribers))
	mux.HandleFunc("DELETE /api/v1/subscribers/{id}", s.admin(s.handleDeleteSubscriber))
	mux.HandleFunc("POST /api/v1/maintenances", s.admin(s.handleCreateMaintenance))
	mux.HandleFunc("GET /api/v1/maintenances", s.admin(s.handleListMaintenances))
	mux.HandleFunc("POST /api/v1/maintenances/{id}/complete", s.admin(s.handleCompleteMaintenance))
	mux.HandleFunc("GET /api/v1/deliveries", s.admin(s.handleDeliveries))
	return mux
}

// pageCSP lets the status pages use their own inline styles and forms and
// nothing else: no script at all, no framing by another site.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// securityHeaders marks every answer of the status service: content types
// are not sniffed, pages are not framed, and HTML runs under pageCSP.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// admin lets the admin token (or a vouched call) through, and a tenant's
// key too when tenantsToo is passed (status/tenants.go); any other tenant
// key is 403.
func (s *Service) admin(h http.HandlerFunc, opts ...adminOption) http.HandlerFunc {
	tenants := len(opts) > 0 && opts[0] == tenantsToo
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Vouched != nil && s.cfg.Vouched(r) {
			h(w, r)
			return
		}
		tok := api.BearerToken(r)
		if tok != "" && (s.cfg.AdminToken == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.AdminToken)) != 1) {
			if c, ok := s.tenantCaller(r); ok {
				if !tenants {
					s.refuseTenant(w)
					return
				}
				h(w, withTenant(r, c.Tenant))
				return
			}
		}
		if s.cfg.AdminToken == "" {
			api.WriteError(w, floodgate.Errorf(floodgate.EUnauthenticated, "This server has no admin token; start it with --admin-token or FLOODGATE_ADMIN_TOKEN."))
			return
		}
		if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.AdminToken)) != 1 {
			api.WriteError(w, floodgate.Errorf(floodgate.EUnauthenticated, "Send the admin token as \"Authorization: Bearer <token>\"."))
			return
		}
		h(w, r)
	}
}

// publicCache lets a CDN or browser keep public documents briefly, so a
// rush of readers does not all reach the server.
func publicCache(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "public, max-age=10")
	w.Header().Set("Access-Control-Allow-Origin", "*")
}

func (s *Service) handleSummary(w http.ResponseWriter, r *http.Request) {
	publicCache(w)
	api.WriteJSON(w, http.StatusOK, s.Summary())
}

func (s *Service) handleStatus(w http.ResponseWriter, r *http.Request) {
	sum := s.Summary()
	publicCache(w)
	api.WriteJSON(w, http.StatusOK, StatusDoc{Page: sum.Page, Status: sum.Status})
}

func (s *Service) handleIncidentsV2(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	doc := s.incidentsDocLocked(s.now())
	s.mu.Unlock()
	publicCache(w)
	api.WriteJSON(w, http.StatusOK, doc)
}

func (s *Service) handleUnresolvedV2(w http.ResponseWriter, r *http.Request) {
	sum := s.Summary()
	publicCache(w)
	api.WriteJSON(w, http.StatusOK, IncidentsDoc{Page: sum.Page, Incidents: sum.Incidents})
}

func (s *Service) handleComponentsV2(w http.ResponseWriter, r *http.Request) {
	sum := s.Summary()
	publicCache(w)
	api.WriteJSON(w, http.StatusOK, map[string]any{"page": sum.Page, "components": sum.Components})
}

func (s *Service) handleMaintenancesV2(w http.ResponseWriter, r *http.Request) {
	sum := s.Summary()
	publicCache(w)
	api.WriteJSON(w, http.StatusOK, map[string]any{"page": sum.Page, "scheduled_maintenances": sum.ScheduledMaintenances})
}

func (s *Service) handlePage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	now := s.now()
	sum := s.summaryLocked(now)
	hist := s.incidentsDocLocked(now)
	up := s.uptimeLocked(now)
	s.mu.Unlock()
	var buf bytes.Buffer
	// A core node serves the page beside the sale; a standalone status
	// server serves it apart, and only that page may say so.
	if err := renderPage(&buf, sum, hist.Incidents, &up, now, s.cfg.Apart); err != nil {
		api.WriteError(w, err)
		return
	}
	publicCache(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

func (s *Service) handleAtom(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	hist := s.incidentsDocLocked(s.now())
	s.mu.Unlock()
	var buf bytes.Buffer
	if err := RenderAtom(&buf, hist); err != nil {
		api.WriteError(w, err)
		return
	}
	publicCache(w)
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// Banner is the in-app banner JSON the buyer pages show: the most serious
// thing going on, or active false.
type Banner struct {
	Active     bool      `json:"active"`
	Level      string    `json:"level"` // none, minor, major, critical, maintenance, info
	Indicator  string    `json:"indicator"`
	IncidentID string    `json:"incident_id,omitempty"`
	Title      string    `json:"title,omitempty"`
	Message    string    `json:"message,omitempty"`
	Status     string    `json:"status,omitempty"`
	StatusKO   string    `json:"status_ko,omitempty"`
	StatusEN   string    `json:"status_en,omitempty"`
	Components []string  `json:"components,omitempty"`
	UpdatedAt  time.Time `json:"updated_at"`
	URL        string    `json:"url"`
}

// Banner returns the in-app banner as it is now.
func (s *Service) Banner() Banner {
	sum := s.Summary()
	b := Banner{Level: ImpactNone, Indicator: sum.Status.Indicator, UpdatedAt: sum.Page.UpdatedAt, URL: "/status"}
	if sum.Page.URL != "" {
		b.URL = sum.Page.URL
	}
	var pick *SPIncident
	for i := range sum.Incidents { // newest first; keep the most serious
		if pick == nil || impactRank[sum.Incidents[i].Impact] > impactRank[pick.Impact] {
			pick = &sum.Incidents[i]
		}
	}
	level := ""
	if pick != nil {
		level = pick.Impact
		if level == ImpactNone {
			level = "info"
		}
	} else {
		for i := range sum.ScheduledMaintenances {
			if sum.ScheduledMaintenances[i].Status == maintenanceInProgress {
				pick, level = &sum.ScheduledMaintenances[i], "maintenance"
				break
			}
		}
	}
	if pick == nil {
		return b
	}
	b.Active, b.Level, b.IncidentID, b.Title, b.Status = true, level, pick.ID, pick.Name, pick.Status
	b.StatusKO, b.StatusEN = statusKO[pick.Status], statusEN[pick.Status]
	if len(pick.IncidentUpdates) > 0 {
		b.Message = pick.IncidentUpdates[0].Body
	}
	for _, c := range pick.Components {
		b.Components = append(b.Components, c.ID)
	}
	b.UpdatedAt = pick.UpdatedAt
	return b
}

func (s *Service) handleBanner(w http.ResponseWriter, r *http.Request) {
	publicCache(w)
	api.WriteJSON(w, http.StatusOK, s.Banner())
}

func (s *Service) handleCreateIncident(w http.ResponseWriter, r *http.Request) {
	answer(w, r, http.StatusCreated, s.CreateIncident)
}

func (s *Service) handleListIncidents(w http.ResponseWriter, r *http.Request) {
	list := s.Incidents()
	if list == nil {
		list = []Incident{}
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"incidents": list})
}

func (s *Service) handleGetIncident(w http.ResponseWriter, r *http.Request) {
	inc, err := s.Incident(r.PathValue("id"))
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, inc)
}

func (s *Service) handleEditIncident(w http.ResponseWriter, r *http.Request) {
	answerID(w, r, http.StatusOK, s.EditIncident)
}

func (s *Service) handleAddUpdate(w http.ResponseWriter, r *http.Request) {
	answerID(w, r, http.StatusCreated, s.AddUpdate)
}

// AffectedList is the answer of GET /api/v1/incidents/{id}/affected.
type AffectedList struct {
	IncidentID string    `json:"incident_id"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Buyers     []Buyer   `json:"buyers"`
}

// Affected lists the buyers who were queued or holding during an incident.
func (s *Service) Affected(id string) (AffectedList, error) { return s.AffectedFor(id, "") }

// AffectedFor is Affected limited to the buyers of one tenant's drops
// (tenant "" is every buyer).
func (s *Service) AffectedFor(id, tenant string) (AffectedList, error) {
	s.mu.Lock()
	inc, ok := s.incidents[id]
	src := s.affected
	now := s.now()
	var out AffectedList
	if ok {
		out = AffectedList{IncidentID: id, From: inc.CreatedAt, To: now}
		if !inc.ResolvedAt.IsZero() {
			out.To = inc.ResolvedAt
		}
	}
	s.mu.Unlock()
	if !ok {
		return out, floodgate.Errorf(floodgate.ENotFound, "No incident %q; list them with GET /api/v1/incidents.", id)
	}
	if src == nil {
		return out, floodgate.Errorf(floodgate.EUnavailable, "This status server has no buyer records (it runs apart from the core); ask a core node for the affected buyers.")
	}
	var (
		buyers []Buyer
		err    error
	)
	if tenant == "" {
		buyers, err = src.Affected(out.From, out.To)
	} else if ts, ok := src.(TenantAffectedSource); ok {
		buyers, err = ts.AffectedOf(tenant, out.From, out.To)
	} else {
		return out, floodgate.Errorf(floodgate.EUnavailable, "This status server cannot tell one maker's buyers from another's; ask a core node.")
	}
	if err != nil {
		return out, floodgate.Errorf(floodgate.EUnavailable, "The buyer records could not be read (%v); try again when the core is healthy.", err)
	}
	if buyers == nil {
		buyers = []Buyer{}
	}
	out.Buyers = buyers
	return out, nil
}

func (s *Service) handleAffected(w http.ResponseWriter, r *http.Request) {
	list, err := s.AffectedFor(r.PathValue("id"), tenantOf(r))
	if err != nil {
		api.WriteErrorRetry(w, err, 30)
		return
	}
	api.WriteJSON(w, http.StatusOK, list)
}

func (s *Service) handleAffectedCSV(w http.ResponseWriter, r *http.Request) {
	list, err := s.AffectedFor(r.PathValue("id"), tenantOf(r))
	if err != nil {
		api.WriteErrorRetry(w, err, 30)
		return
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write([]string{"customer", "email", "phone"})
	for _, b := range list.Buyers {
		_ = cw.Write([]string{csvSafe(b.Customer), csvSafe(b.Email), csvSafe(b.Phone)})
	}
	cw.Flush()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="affected-`+list.IncidentID+`.csv"`)
	_, _ = w.Write(buf.Bytes())
}

// csvSafe keeps a value from being read as a formula by a spreadsheet.
func csvSafe(v string) string {
	if phoneRE.MatchString(v) {
		return v // +8210…: a number, not a formula
	}
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func (s *Service) handleSubscribe(w http.ResponseWriter, r *http.Request) {
	answer(w, r, http.StatusCreated, s.Subscribe)
}

func (s *Service) handleListSubscribers(w http.ResponseWriter, r *http.Request) {
	api.WriteJSON(w, http.StatusOK, map[string]any{"subscribers": s.Subscribers()})
}

func (s *Service) handleDeleteSubscriber(w http.ResponseWriter, r *http.Request) {
	if err := s.Unsubscribe(r.PathValue("id"), false); err != nil {
		api.WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// The unsubscribe link shows a button rather than acting on GET, because mail
// scanners open links; the POST also serves RFC 8058 one-click unsubscribe.
func (s *Service) handleUnsubscribeForm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = unsubscribeTmpl.Execute(w, map[string]any{"Token": r.PathValue("token"), "Done": false})
}

func (s *Service) handleUnsubscribe(w http.ResponseWriter, r *http.Request) {
	err := s.Unsubscribe(r.PathValue("token"), true)
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		if err != nil {
			api.WriteError(w, err)
			return
		}
		api.WriteJSON(w, http.StatusOK, map[string]bool{"unsubscribed": true})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err != nil {
		w.WriteHeader(api.Status(floodgate.ErrorCode(err)))
	}
	_ = unsubscribeTmpl.Execute(w, map[string]any{"Token": "", "Done": err == nil, "Error": floodgate.ErrorMessage(err)})
}

func (s *Service) handleCreateMaintenance(w http.ResponseWriter, r *http.Request) {
	answer(w, r, http.StatusCreated, s.ScheduleMaintenance)
}

func (s *Service) handleListMaintenances(w http.ResponseWriter, r *http.Request) {
	api.WriteJSON(w, http.StatusOK, map[string]any{"maintenances": s.Maintenances()})
}

func (s *Service) handleCompleteMaintenance(w http.ResponseWriter, r *http.Request) {
	m, err := s.CompleteMaintenance(r.PathValue("id"))
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, m)
}

// DeliveryView is a queued delivery as the admin API shows it.
type DeliveryView struct {
	ID string `json:"id"`
	Route
	Attempts  int       `json:"attempts"`
	NextAt    time.Time `json:"next_at"`
	LastError string    `json:"last_error,omitempty"`
}

func (s *Service) handleDeliveries(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	queued := make([]DeliveryView, 0, len(s.outbox))
	for _, d := range s.outbox {
		queued = append(queued, DeliveryView{ID: d.ID, Route: d.Route.masked(), Attempts: d.Attempts, NextAt: d.NextAt, LastError: d.LastError})
	}
	s.mu.Unlock()
	log, err := s.st.recentLog(500)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	if log == nil {
		log = []LogEntry{}
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"queued": queued, "log": log})
}
