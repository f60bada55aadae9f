package http

// The API is built on an api.Router, which keeps every pattern registered,
// so that tests can walk the routes the server really has
// (http/scope_test.go checks each admin route's scoping from this list).

// Routes returns the patterns of every route of the server, in the order
// they were registered.
func (s *Server) Routes() []string { return append([]string(nil), s.patterns...) }
