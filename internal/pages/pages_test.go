package pages

import (
	"errors"
	"html/template"
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
	log := slog.New(slog.DiscardHandler)

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

func TestLang(t *testing.T) {
	for _, tc := range []struct {
		url, cookie, accept, want string
	}{
		{"/", "", "", "en"},
		{"/", "", "ko-KR,ko;q=0.9,en;q=0.5", "ko"},
		{"/", "", "en-US,en;q=0.9,ko;q=0.8", "en"},
		{"/", "", "en;q=0.1, ko", "ko"},
		{"/", "", "fr-FR", "en"},
		{"/", "ko", "en", "ko"},
		{"/", "xx", "ko", "ko"},
		{"/?lang=en", "ko", "ko", "en"},
		{"/?lang=de", "", "ko", "ko"},
	} {
		r := httptest.NewRequest(http.MethodGet, tc.url, nil)
		if tc.cookie != "" {
			r.AddCookie(&http.Cookie{Name: LangCookie, Value: tc.cookie})
		}
		if tc.accept != "" {
			r.Header.Set("Accept-Language", tc.accept)
		}
		if got := Lang(r); got != tc.want {
			t.Errorf("Lang(%s, cookie %q, Accept-Language %q) = %q, want %q", tc.url, tc.cookie, tc.accept, got, tc.want)
		}
	}
	w := httptest.NewRecorder()
	RememberLang(w, httptest.NewRequest(http.MethodGet, "/admin?lang=ko", nil), "/admin", true)
	c := w.Result().Cookies()
	if len(c) != 1 || c[0].Name != LangCookie || c[0].Value != "ko" || c[0].Path != "/admin" || !c[0].Secure || !c[0].HttpOnly {
		t.Fatalf("remembered: %+v", c)
	}
	w = httptest.NewRecorder()
	RememberLang(w, httptest.NewRequest(http.MethodGet, "/?lang=de", nil), "/", false)
	if len(w.Result().Cookies()) != 0 {
		t.Fatal("a language the pages do not have was remembered")
	}
}
