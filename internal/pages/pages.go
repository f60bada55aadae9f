// Package pages draws the server-rendered HTML pages (the buyer pages of
// package web, the operator console): every page is the package's
// templates/layout.html with its own templates/<name>.html, parsed once from
// an embedded file system, and is drawn into a buffer before anything is
// sent, so that a template error is a clean 500 and never half a page.
package pages

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
)

// Set is a package's pages by name.
type Set map[string]*template.Template

// Parse parses templates/layout.html with templates/<name>.html from fsys
// for every name, with funcs available to both.
func Parse(fsys fs.FS, funcs template.FuncMap, names ...string) (Set, error) {
	s := Set{}
	for _, name := range names {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(fsys, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		s[name] = t
	}
	return s, nil
}

// Write draws page name with data and sends it as HTML with status (200
// when 0), after the headers w already has. When the template fails, it
// logs why and answers a plain 500 that says failed.
func (s Set) Write(w http.ResponseWriter, log *slog.Logger, name string, status int, data any, failed string) {
	var buf bytes.Buffer
	if err := s[name].Execute(&buf, data); err != nil {
		log.Error("rendering a page failed", "page", name, "err", err)
		http.Error(w, failed, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if status != 0 {
		w.WriteHeader(status)
	}
	_, _ = w.Write(buf.Bytes())
}
