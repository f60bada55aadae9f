package status

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// The page says it is served apart from the sale servers only where that is
// true: on a standalone status server and in a static export, not on a
// sale node.
func TestPageSaysApartOnlyWhenItIs(t *testing.T) {
	const apart = "served apart from the sale servers"
	page := func(apart bool) string {
		s, _ := MustOpen(t, func(c *Config) { c.Apart = apart })
		srv := httptest.NewServer(s.Handler())
		defer srv.Close()
		return testkit.MustGetOK(t, srv.URL+"/status")
	}
	if strings.Contains(page(false), apart) {
		t.Error("a sale node's status page claims to be served apart from the sale servers")
	}
	if !strings.Contains(page(true), apart) {
		t.Error("a standalone status server's page does not say it is served apart")
	}
	var buf bytes.Buffer
	if err := RenderPage(&buf, Summary{}, nil, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), apart) {
		t.Error("the static export does not say it is served apart")
	}
}
