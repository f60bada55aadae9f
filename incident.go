package floodgate

import "time"

// IncidentSummary is an incident of the status page as the sale report
// lists it (status.(*Service).IncidentSummaries).
type IncidentSummary struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Status     string     `json:"status"`
	Impact     string     `json:"impact"`
	CreatedAt  time.Time  `json:"created_at"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
}
