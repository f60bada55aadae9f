package pages

import (
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestWriteDrawsInFullOrAnswersAClean500(t *testing.T) {
	fsys := fstest.MapFS{
		"templates/layout.html": {Data: []byte(`<main>{{template "body" .}}</main>`)},
		"templates/hello.html":  {Data: []byte(`{{define "body"}}{{shout .}}{{end}}`)},
		"templates/broken.html": {Data: []byte(`{{define "body"}}before{{boom}}{{end}}`)},
	}
	set, err := Parse(fsys, template.FuncMap{"shout": strings.ToUpper, "boom": func() (string, error) { return "", errors.New("boom") }}, "hello", "broken")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	w := httptest.NewRecorder()
	set.Write(w, log, "hello", http.StatusTeapot, "<hi>", "failed")
	if w.Code != http.StatusTeapot || w.Body.String() != "<main>&lt;HI&gt;</main>" || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("hello: %d %q %q", w.Code, w.Body, w.Header().Get("Content-Type"))
	}

	w = httptest.NewRecorder()
	set.Write(w, log, "broken", 0, map[string]any{}, "failed")
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "before") || !strings.Contains(w.Body.String(), "failed") {
		t.Fatalf("broken: %d %q; want a plain 500 without half a page", w.Code, w.Body)
	}

	if _, err := Parse(fsys, nil, "absent"); err == nil {
		t.Fatal("parsing a page that does not exist succeeded")
	}
}
