package status

import (
	"net/http"
	"sort"
	"time"

	"github.com/floodgate/floodgate/internal/api"
)

// Uptime history: for every component and each of the last 90 days (Korean
// days), the share of the day it was up. It is worked out from the incident
// history, which the health signals write themselves (automatic incidents)
// beside the operators, so every node computes the same bars from the same
// replicated records and nothing extra is stored. As on Statuspage, a major
// outage counts fully as downtime and a partial outage as 30 %; degraded
// performance and maintenance do not count.

// UptimeDays is how many days of history the page and uptime.json show.
const UptimeDays = 90

// partialWeight is how much of a partial outage counts as downtime.
const partialWeight = 0.3

// UptimeDoc is /api/v2/uptime.json.
type UptimeDoc struct {
	Page       Page              `json:"page"`
	Days       int               `json:"days"`
	Components []ComponentUptime `json:"components"`
}

// ComponentUptime is one component's history, oldest day first.
type ComponentUptime struct {
	ID       string      `json:"id"`
	Name     string      `json:"name"`
	GroupID  string      `json:"group_id,omitempty"`
	Uptime   *float64    `json:"uptime_percent"` // over the days with data; null without any
	History  []UptimeDay `json:"history"`
	Position int         `json:"-"`
}

// UptimeDay is one day of one component. Uptime is null on days before the
// component existed.
type UptimeDay struct {
	Date           string   `json:"date"` // YYYY-MM-DD, Korean time
	Uptime         *float64 `json:"uptime_percent"`
	MajorSeconds   int64    `json:"major_outage_seconds"`
	PartialSeconds int64    `json:"partial_outage_seconds"`
	Level          string   `json:"level"` // the worst status of the day: operational, degraded_performance, partial_outage, major_outage, no_data
}

type span struct {
	from, to time.Time
	status   string
}

// uptimeLocked computes the uptime document at now.
func (s *Service) uptimeLocked(now time.Time) UptimeDoc {
	doc := UptimeDoc{Page: s.pageLocked(now), Days: UptimeDays, Components: []ComponentUptime{}}
	spans := map[string][]span{}
	for _, inc := range s.incidents {
		st := componentStatusFor(inc.Impact)
		if st == ComponentOperational {
			continue
		}
		end := now
		if isResolved(inc.Status) && !inc.ResolvedAt.IsZero() {
			end = inc.ResolvedAt
		}
		for _, id := range inc.Components {
			spans[id] = append(spans[id], span{from: inc.CreatedAt, to: end, status: st})
		}
	}
	today := dayStart(now)
	first := today.AddDate(0, 0, -(UptimeDays - 1))
	for _, c := range s.sortedComponents() {
		if c.Group {
			continue
		}
		cu := ComponentUptime{ID: c.ID, Name: c.Name, GroupID: c.GroupID, History: make([]UptimeDay, 0, UptimeDays), Position: c.Position}
		var upSum, daySum float64
		born := dayStart(c.CreatedAt)
		for d := first; !d.After(today); d = d.AddDate(0, 0, 1) {
			end := d.AddDate(0, 0, 1)
			if end.After(now) {
				end = now
			}
			day := UptimeDay{Date: d.Format("2006-01-02"), Level: "no_data"}
			if !c.CreatedAt.IsZero() && d.Before(born) || !end.After(d) {
				cu.History = append(cu.History, day)
				continue
			}
			from := d
			if c.CreatedAt.After(from) {
				from = c.CreatedAt
			}
			major, partial, worst := downtime(spans[c.ID], from, end)
			day.MajorSeconds, day.PartialSeconds = int64(major.Seconds()), int64(partial.Seconds())
			total := end.Sub(from).Seconds()
			up := 100.0
			if total > 0 {
				up = 100 * (1 - (major.Seconds()+partialWeight*partial.Seconds())/total)
			}
			up = float64(int64(up*100+0.5)) / 100
			day.Uptime = &up
			day.Level = worst
			upSum += up * total
			daySum += total
			cu.History = append(cu.History, day)
		}
		if daySum > 0 {
			u := float64(int64(upSum/daySum*100+0.5)) / 100
			cu.Uptime = &u
		}
		doc.Components = append(doc.Components, cu)
	}
	return doc
}

// downtime sums, between from and to, the time covered by a major outage
// and (outside of those) by a partial outage, and names the worst status.
func downtime(spans []span, from, to time.Time) (major, partial time.Duration, worst string) {
	worst = ComponentOperational
	type edge struct {
		at    time.Time
		rank  int
		delta int
	}
	var edges []edge
	for _, sp := range spans {
		a, b := sp.from, sp.to
		if a.Before(from) {
			a = from
		}
		if b.After(to) {
			b = to
		}
		if !b.After(a) {
			continue
		}
		r := componentRank[sp.status]
		if r > componentRank[worst] {
			worst = sp.status
		}
		edges = append(edges, edge{a, r, 1}, edge{b, r, -1})
	}
	sort.Slice(edges, func(i, j int) bool { return edges[i].at.Before(edges[j].at) })
	open := map[int]int{}
	var last time.Time
	for _, e := range edges {
		if !last.IsZero() && e.at.After(last) {
			d := e.at.Sub(last)
			switch {
			case open[componentRank[ComponentMajorOutage]] > 0:
				major += d
			case open[componentRank[ComponentPartialOutage]] > 0:
				partial += d
			}
		}
		open[e.rank] += e.delta
		last = e.at
	}
	return major, partial, worst
}

// dayStart is the start of t's day in Korean time.
func dayStart(t time.Time) time.Time {
	k := t.In(kst)
	return time.Date(k.Year(), k.Month(), k.Day(), 0, 0, 0, 0, kst)
}

// Uptime returns uptime.json as it is now.
func (s *Service) Uptime() UptimeDoc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uptimeLocked(s.now())
}

func (s *Service) handleUptime(w http.ResponseWriter, r *http.Request) {
	publicCache(w)
	api.WriteJSON(w, http.StatusOK, s.Uptime())
}
