package http

import "net/http"

// router is the ServeMux the API is built on. It keeps every pattern
// registered, so that tests can walk the routes the server really has
// (http/scope_test.go checks each admin route's scoping from this list).
type router struct {
	*http.ServeMux
	patterns []string
}

func newRouter() *router { return &router{ServeMux: http.NewServeMux()} }

// HandleFunc registers h for pattern.
func (m *router) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.HandleFunc(pattern, h)
}

// Handle registers h for pattern.
func (m *router) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

// Routes returns the patterns of every route of the server, in the order
// they were registered.
func (s *Server) Routes() []string { return append([]string(nil), s.patterns...) }
