package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/floodgate/floodgate"
)

type loggingWriter struct {
	http.ResponseWriter
	logged []error
}

func (w *loggingWriter) LogError(err error) { w.logged = append(w.logged, err) }

// wrapper is a ResponseWriter around another, as middleware makes them.
type wrapper struct{ http.ResponseWriter }

func (w wrapper) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func TestWriteErrorLogsOnlyUnexpectedErrorsThroughTheRequestsLogger(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		logged bool
	}{
		{errors.New("disk on fire"), http.StatusInternalServerError, true},
		{floodgate.Errorf(floodgate.EInternal, "the batch returned 1 result for 2 commands"), http.StatusInternalServerError, true},
		{floodgate.Errorf(floodgate.ENotFound, "There is no drop %q.", "x"), http.StatusNotFound, false},
		{floodgate.Errorf(floodgate.EUnavailable, "No leader."), http.StatusServiceUnavailable, false},
	} {
		lw := &loggingWriter{ResponseWriter: httptest.NewRecorder()}
		WriteError(wrapper{lw}, tc.err)
		rec := lw.ResponseWriter.(*httptest.ResponseRecorder)
		if rec.Code != tc.status {
			t.Errorf("%v: status %d; want %d", tc.err, rec.Code, tc.status)
		}
		if got := len(lw.logged) == 1 && lw.logged[0] == tc.err; got != tc.logged {
			t.Errorf("%v: logged %v; want logged %v", tc.err, lw.logged, tc.logged)
		}
	}
}
