package demo

import (
	"fmt"
	"io"
)

// WriteBanner writes where the demo can be seen on the node at baseURL: the
// buyer's page of the demo drop, its JSON, the status page and the console.
func WriteBanner(w io.Writer, baseURL string) {
	fmt.Fprintf(w, "\n  Demo drop:   %[1]s/d/%[2]s\n  Drop JSON:   %[1]s/api/v1/drops/%[2]s\n  Status page: %[1]s/status\n  Console:     %[1]s/admin (sign in with the admin token)\n\n", baseURL, DropID)
}
