package demo

import (
	"strings"
	"testing"
)

func TestWriteBanner(t *testing.T) {
	var b strings.Builder
	WriteBanner(&b, "http://127.0.0.1:8080")
	for _, want := range []string{"http://127.0.0.1:8080/d/mini-speaker\n", "http://127.0.0.1:8080/api/v1/drops/mini-speaker\n", "http://127.0.0.1:8080/status\n", "http://127.0.0.1:8080/admin "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, b.String())
		}
	}
}
