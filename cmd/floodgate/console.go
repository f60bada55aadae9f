package main

import (
	"time"

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
