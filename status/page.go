package status

import (
	_ "embed"
	"encoding/xml"
	"html/template"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed page.html
var pageHTML string

// form.html is the shell of the small pages behind a notice's link; each
// defines its "title" and "body".
//
//go:embed form.html
var formHTML string

//go:embed unsubscribe.html
var unsubscribeHTML string

//go:embed subscribe.html
var subscribeHTML string

var indicatorKO = map[string]string{
	ImpactNone:     "모든 시스템 정상 작동",
	ImpactMinor:    "일부 서비스 장애",
	ImpactMajor:    "부분 시스템 장애",
	ImpactCritical: "주요 서비스 장애",
}

var componentKO = map[string]string{
	ComponentOperational:      "정상",
	ComponentDegraded:         "성능 저하",
	ComponentPartialOutage:    "부분 장애",
	ComponentMajorOutage:      "전면 장애",
	ComponentUnderMaintenance: "점검 중",
}

var componentEN = map[string]string{
	ComponentOperational:      "Operational",
	ComponentDegraded:         "Degraded performance",
	ComponentPartialOutage:    "Partial outage",
	ComponentMajorOutage:      "Major outage",
	ComponentUnderMaintenance: "Under maintenance",
}

var impactEN = map[string]string{ImpactNone: "Notice", ImpactMinor: "Minor", ImpactMajor: "Major", ImpactCritical: "Critical"}

var pageFuncs = template.FuncMap{
	"statusKO":    func(s string) string { return orDefault(statusKO[s], s) },
	"statusEN":    func(s string) string { return orDefault(statusEN[s], s) },
	"componentKO": func(s string) string { return orDefault(componentKO[s], s) },
	"componentEN": func(s string) string { return orDefault(componentEN[s], s) },
	"impactKO":    func(s string) string { return orDefault(impactKO[s], s) },
	"impactEN":    func(s string) string { return orDefault(impactEN[s], s) },
	"indicatorKO": func(s string) string { return orDefault(indicatorKO[s], s) },
	"indicatorEN": func(s string) string { return orDefault(indicatorDescription[s], s) },
	"kst":         func(t time.Time) string { return t.In(kst).Format("2006-01-02 15:04 KST") },
	"utc":         func(t time.Time) string { return t.UTC().Format("15:04 UTC") },
	"iso":         func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"derefTime": func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	},
	// subscribeAction is where the subscribe form posts: the live server
	// of the page (PublicURL), so the form works from a static export too.
	"subscribeAction": func(p Page) string {
		return strings.TrimSuffix(p.URL, "/status") + "/api/v1/subscriptions"
	},
	"pct": func(f *float64) string {
		if f == nil {
			return "—"
		}
		return strconv.FormatFloat(*f, 'f', 2, 64) + "%"
	},
	"nameKO": func(e *Extension) string {
		if e == nil {
			return ""
		}
		return e.NameKO
	},
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

var pageTmpl = template.Must(template.New("page").Funcs(pageFuncs).Parse(pageHTML))

var unsubscribeTmpl = formPage(unsubscribeHTML)

var subscribeTmpl = formPage(subscribeHTML)

// formPage is the page whose title and body html defines, in form.html.
func formPage(html string) *template.Template {
	return template.Must(template.Must(template.New("form").Parse(formHTML)).Parse(html))
}

// pageData is what the page template sees.
type pageData struct {
	Summary Summary
	Active  []SPIncident
	Past    []SPIncident
	Rows    []componentRow
	Now     time.Time
	// Apart is true when the page is served apart from the sale servers
	// (a standalone status server or a static export), and only then says so.
	Apart bool
}

// componentRow is one line of the component list: a component with its
// uptime bars, or a group with its members.
type componentRow struct {
	C        SPComponent
	Uptime   *ComponentUptime
	Children []componentRow
}

// componentRows nests members under their groups, in page order.
func componentRows(comps []SPComponent, up *UptimeDoc) []componentRow {
	byID := map[string]*ComponentUptime{}
	if up != nil {
		for i := range up.Components {
			byID[up.Components[i].ID] = &up.Components[i]
		}
	}
	groups := map[string]bool{}
	for _, c := range comps {
		if c.Group {
			groups[c.ID] = true
		}
	}
	var rows []componentRow
	for _, c := range comps {
		if c.GroupID != nil && groups[*c.GroupID] {
			continue
		}
		row := componentRow{C: c, Uptime: byID[c.ID]}
		if c.Group {
			for _, m := range comps {
				if m.GroupID != nil && *m.GroupID == c.ID {
					row.Children = append(row.Children, componentRow{C: m, Uptime: byID[m.ID]})
				}
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// RenderPage writes the status page as one self-contained HTML document (no
// scripts, no outside files), so that it can be served from a static export.
// history is incidents.json's list; resolved ones show as past incidents.
// uptime (may be nil) gives the 90-day bars.
func RenderPage(w io.Writer, sum Summary, history []SPIncident, uptime *UptimeDoc, now time.Time) error {
	return renderPage(w, sum, history, uptime, now, true)
}

func renderPage(w io.Writer, sum Summary, history []SPIncident, uptime *UptimeDoc, now time.Time, apart bool) error {
	d := pageData{Summary: sum, Active: append([]SPIncident(nil), sum.Incidents...), Now: now, Rows: componentRows(sum.Components, uptime), Apart: apart}
	// The most serious first; a notice (impact none) after every problem.
	sort.SliceStable(d.Active, func(i, j int) bool { return impactRank[d.Active[i].Impact] > impactRank[d.Active[j].Impact] })
	active := map[string]bool{}
	for _, inc := range sum.Incidents {
		active[inc.ID] = true
	}
	for _, inc := range history {
		if !active[inc.ID] {
			d.Past = append(d.Past, inc)
		}
	}
	sort.SliceStable(d.Past, func(i, j int) bool { return d.Past[i].CreatedAt.After(d.Past[j].CreatedAt) })
	if len(d.Past) > 20 {
		d.Past = d.Past[:20]
	}
	return pageTmpl.Execute(w, d)
}

// Atom feed types, as Statuspage's history.atom has them.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string      `xml:"xml:lang,attr"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Link    []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomEntry struct {
	ID        string      `xml:"id"`
	Published string      `xml:"published"`
	Updated   string      `xml:"updated"`
	Title     string      `xml:"title"`
	Link      atomLink    `xml:"link"`
	Content   atomContent `xml:"content"`
}

type atomContent struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

// RenderAtom writes the incident history as an Atom feed.
func RenderAtom(w io.Writer, doc IncidentsDoc) error {
	base := doc.Page.URL
	if base == "" {
		base = "/status"
	}
	feed := atomFeed{Lang: "en", ID: "tag:floodgate,2026:" + doc.Page.ID + ":history", Title: doc.Page.Name + " Status - Incident History",
		Updated: doc.Page.UpdatedAt.UTC().Format(time.RFC3339),
		Link:    []atomLink{{Rel: "alternate", Type: "text/html", Href: base}, {Rel: "self", Type: "application/atom+xml", Href: "history.atom"}}}
	for _, inc := range doc.Incidents {
		var body string
		for _, u := range inc.IncidentUpdates {
			body += "<p><small>" + template.HTMLEscapeString(u.CreatedAt.In(kst).Format("Jan 2, 15:04 KST")) + "</small><br><strong>" +
				template.HTMLEscapeString(statusEN[u.Status]) + "</strong> - " + template.HTMLEscapeString(u.Body) + "</p>"
		}
		feed.Entries = append(feed.Entries, atomEntry{ID: "tag:floodgate,2026:Incident/" + inc.ID,
			Published: inc.CreatedAt.UTC().Format(time.RFC3339), Updated: inc.UpdatedAt.UTC().Format(time.RFC3339),
			Title: inc.Name, Link: atomLink{Rel: "alternate", Type: "text/html", Href: base + "#" + inc.ID},
			Content: atomContent{Type: "html", Body: body}})
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	return enc.Encode(feed)
}
