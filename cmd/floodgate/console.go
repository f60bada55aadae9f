package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"time"

	"github.com/floodgate/floodgate/console"
	"github.com/floodgate/floodgate/internal/clientaddr"

	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/status"
)

// incidentSummaries lists the status page's incidents for the sale report.
func incidentSummaries(svc *status.Service) func() []fhttp.IncidentSummary {
	return func() []fhttp.IncidentSummary {
		var out []fhttp.IncidentSummary
		for _, in := range svc.Incidents() {
			s := fhttp.IncidentSummary{ID: in.ID, Name: in.Name, Status: in.Status, Impact: in.Impact, CreatedAt: in.CreatedAt}
			if !in.ResolvedAt.IsZero() {
				t := in.ResolvedAt.UTC().Truncate(time.Millisecond)
				s.ResolvedAt = &t
			}
			out = append(out, s)
		}
		return out
	}
}

// mountConsole serves the operator console at /admin. Its session key comes
// from the admin token, so every node of a cluster accepts the same cookie.
func mountConsole(api *fhttp.Server, adminToken string, trusted clientaddr.Trusted, log *slog.Logger) error {
	m := hmac.New(sha256.New, []byte(adminToken))
	m.Write([]byte("floodgate console session key"))
	h, err := console.New(console.Config{API: api, Key: m.Sum(nil), Trusted: trusted, Logger: log})
	if err != nil {
		return err
	}
	api.SetConsole(h)
	return nil
}
