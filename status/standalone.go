package status

import (
	"fmt"
	"net/http"
)

// StandaloneHandler is the status page as floodgate status serve runs it on
// its own address: the page and its API, / sending visitors to /status, and
// GET /healthz.
func (s *Service) StandaloneHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", s.Handler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/status", http.StatusFound)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	return mux
}
