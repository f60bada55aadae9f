package http

import (
	"net/http"

	"github.com/floodgate/floodgate"
)

// admissionStream streams a drop's admission state to edges.
func (s *Server) admissionStream(w http.ResponseWriter, r *http.Request) {
	writeErr(w, floodgate.Errorf(floodgate.ENotFound, "The admission stream is not available on this node."))
}
