package status

import (
	"fmt"
	"html"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
)

// widgetJS is /status/widget.js: a script a shop puts on its own pages
//
//	<script src="https://status.example.com/status/widget.js" async></script>
//
// It reads status.json from the server it was loaded from and shows a small
// link to the status page, in Korean and English, coloured by the overall
// indicator. It writes text only (no HTML from the server), so a changed
// incident name cannot inject anything into the shop's page.
const widgetJS = `(function () {
  var s = document.currentScript;
  if (!s) { return; }
  var base = s.src.replace(/\/status\/widget\.js.*$/, "");
  var colours = {none: "#16794c", minor: "#b7791f", major: "#c05621", critical: "#c53030"};
  var ko = {none: "모든 시스템 정상", minor: "일부 서비스 장애", major: "부분 시스템 장애", critical: "주요 서비스 장애"};
  var a = document.createElement("a");
  a.href = base + "/status";
  a.className = "floodgate-status-widget";
  a.style.cssText = "display:inline-flex;align-items:center;gap:6px;font:14px/1.4 sans-serif;color:#1a202c;text-decoration:none;padding:4px 10px;border:1px solid #e2e8f0;border-radius:999px;background:#fff";
  var dot = document.createElement("span");
  dot.style.cssText = "width:9px;height:9px;border-radius:50%;background:#a0aec0;display:inline-block";
  var label = document.createElement("span");
  label.textContent = "상태 · Status";
  a.appendChild(dot);
  a.appendChild(label);
  s.parentNode.insertBefore(a, s.nextSibling);
  fetch(base + "/api/v2/status.json", {credentials: "omit"}).then(function (r) { return r.json(); }).then(function (d) {
    var ind = d && d.status && d.status.indicator;
    if (!colours[ind]) { return; }
    dot.style.background = colours[ind];
    label.textContent = ko[ind] + " · " + d.status.description;
  }).catch(function () {});
})();
`

func (s *Service) handleWidget(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
	_, _ = w.Write([]byte(widgetJS))
}

var badgeColour = map[string]string{
	ComponentOperational:      "#16794c",
	ComponentUnderMaintenance: "#2b6cb0",
	ComponentDegraded:         "#b7791f",
	ComponentPartialOutage:    "#c05621",
	ComponentMajorOutage:      "#c53030",
}

var indicatorComponent = map[string]string{
	ImpactNone:     ComponentOperational,
	ImpactMinor:    ComponentDegraded,
	ImpactMajor:    ComponentPartialOutage,
	ImpactCritical: ComponentMajorOutage,
}

// Badge returns an SVG badge of the overall status, or of one component
// (404 when it does not exist).
func (s *Service) Badge(component string) ([]byte, bool) {
	s.mu.Lock()
	now := s.now()
	label, status := s.cfg.PageName, ""
	if component == "" {
		status = indicatorComponent[s.summaryLocked(now).Status.Indicator]
	} else if c, ok := s.components[component]; ok {
		label, status = c.Name, s.componentStatusesLocked(now)[component]
	}
	s.mu.Unlock()
	if status == "" {
		return nil, false
	}
	return badgeSVG(label, strings.ToLower(componentEN[status])), true
}

// badgeSVG draws a flat two-part badge; widths follow the text length
// (about 7 px a character at 11 px), which is close enough for Latin text.
func badgeSVG(label, value string) []byte {
	lw := 12 + 7*utf8.RuneCountInString(label)
	vw := 12 + 7*utf8.RuneCountInString(value)
	colour := "#16794c"
	for st, en := range componentEN {
		if strings.ToLower(en) == value {
			colour = badgeColour[st]
		}
	}
	l, v := html.EscapeString(label), html.EscapeString(value)
	return []byte(fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="20" role="img" aria-label="%s: %s">`+
		`<title>%s: %s</title><rect width="%d" height="20" rx="3" fill="#555"/><rect x="%d" width="%d" height="20" rx="3" fill="%s"/>`+
		`<rect x="%d" width="6" height="20" fill="%s"/>`+
		`<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle">`+
		`<text x="%d" y="14">%s</text><text x="%d" y="14">%s</text></g></svg>`,
		lw+vw, l, v, l, v, lw, lw, vw, colour, lw, colour, lw/2, l, lw+vw/2, v))
}

func (s *Service) handleBadge(w http.ResponseWriter, r *http.Request) {
	comp := r.URL.Query().Get("component")
	if len(comp) > 200 {
		comp = comp[:200]
	}
	svg, ok := s.Badge(comp)
	if !ok {
		api.WriteError(w, floodgate.Errorf(floodgate.ENotFound, "No component %q.", comp))
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
	_, _ = w.Write(svg)
}
