package pages

import (
	"net/http"

	"golang.org/x/text/language"
)

// LangCookie remembers the language a visitor chose with ?lang=.
const LangCookie = "fg_lang"

// langMatcher matches a browser's languages against the pages': English,
// the fallback, and Korean.
var langMatcher = language.NewMatcher([]language.Tag{language.English, language.Korean})

// Lang picks the language of a page, "en" or "ko": an explicit ?lang=, then
// the remembered choice (LangCookie), then the browser's Accept-Language;
// English when nothing asks for Korean.
func Lang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "en" || l == "ko" {
		return l
	}
	if c, err := r.Cookie(LangCookie); err == nil && (c.Value == "en" || c.Value == "ko") {
		return c.Value
	}
	tags, _, _ := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if _, i, conf := langMatcher.Match(tags...); conf != language.No && i == 1 {
		return "ko"
	}
	return "en"
}

// RememberLang keeps an explicit ?lang= in LangCookie for the pages under
// path, so that the next page comes in the same language.
func RememberLang(w http.ResponseWriter, r *http.Request, path string, secure bool) {
	if l := r.URL.Query().Get("lang"); l == "en" || l == "ko" {
		http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: l, Path: path, MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure})
	}
}
