package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"

	"github.com/floodgate/floodgate"
)

// BrandReader is optional: when the DropReader also tells a drop's
// branding (a partner maker's name, logo and accent colour), the drop's page
// shows it.
type BrandReader interface {
	Brand(ctx context.Context, drop string) (floodgate.Brand, bool)
}

// brandView is the branding a page shows. Every value is checked again
// here, whatever the state holds: the name is escaped by the template, the
// logo is an https URL whose origin the page's CSP allows for images only,
// and the colour reaches the page only through a stylesheet of our own
// origin (no inline style, which the CSP forbids).
type brandView struct {
	Name    string
	LogoURL string
	CSSURL  string
	origin  string
}

var accentPattern = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// hostPattern is what the logo's host may look like in the CSP header.
var hostPattern = regexp.MustCompile(`^[A-Za-z0-9.-]+(:[0-9]{1,5})?$`)

func (h *Handler) brand(ctx context.Context, drop string) (*brandView, floodgate.Brand) {
	br, ok := h.cfg.Drops.(BrandReader)
	if !ok {
		return nil, floodgate.Brand{}
	}
	b, ok := br.Brand(ctx, drop)
	if !ok {
		return nil, b
	}
	v := &brandView{Name: b.Name}
	if u, err := url.Parse(b.LogoURL); err == nil && u.Scheme == "https" && u.User == nil && hostPattern.MatchString(u.Host) {
		v.LogoURL, v.origin = u.String(), "https://"+u.Host
	}
	if accentPattern.MatchString(b.Accent) {
		v.CSSURL = "/d/" + url.PathEscape(drop) + "/brand.css?v=" + b.Accent[1:]
	}
	return v, b
}

// csp is the pages' Content-Security-Policy; a branded page also allows
// images from its logo's origin.
func csp(imgOrigin string) string {
	img := "'self' data:"
	if imgOrigin != "" {
		img += " " + imgOrigin
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src " + img + "; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
}

// brandCSS serves the accent colour of a drop's maker as a stylesheet.
func (h *Handler) brandCSS(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("drop")
	var b floodgate.Brand
	if dropIDPattern.MatchString(id) {
		_, b = h.brand(r.Context(), id)
	}
	if !accentPattern.MatchString(b.Accent) {
		http.NotFound(w, r)
		return
	}
	c, _ := strconv.ParseUint(b.Accent[1:], 16, 32)
	rr, gg, bb := int(c>>16), int(c>>8&0xff), int(c&0xff)
	dark := func(v int) int { return v * 3 / 4 }
	soft := func(v int) int { return 255 - (255-v)/8 }
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	fmt.Fprintf(w, ":root { --brand: #%02x%02x%02x; --brand-2: #%02x%02x%02x; --brand-soft: #%02x%02x%02x; }\n",
		rr, gg, bb, dark(rr), dark(gg), dark(bb), soft(rr), soft(gg), soft(bb))
	fmt.Fprintf(w, ".product-art { background: radial-gradient(circle at 30%% 20%%, #%02x%02x%02x 0, var(--brand) 55%%, var(--brand-2) 100%%); }\n",
		min(255, rr+60), min(255, gg+60), min(255, bb+60))
}
