package api

import "net/http"

// Router is a ServeMux that keeps every pattern registered, so that tests
// can walk the routes a handler really has.
type Router struct {
	*http.ServeMux
	Patterns []string
}

// NewRouter returns an empty Router.
func NewRouter() *Router { return &Router{ServeMux: http.NewServeMux()} }

// HandleFunc registers h for pattern.
func (m *Router) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Patterns = append(m.Patterns, pattern)
	m.ServeMux.HandleFunc(pattern, h)
}

// Handle registers h for pattern.
func (m *Router) Handle(pattern string, h http.Handler) {
	m.Patterns = append(m.Patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}
