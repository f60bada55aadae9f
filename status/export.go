package status

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/floodgate/floodgate/internal/client"
)

// exportNow is the clock of Export; tests fix it so the screenshot of the
// export is the same on every run.
var exportNow = time.Now

// fetchDoc GETs base+path through the API client and returns the body; v,
// when not nil, receives it decoded. An error answer says the server's code
// and message when it has them.
func fetchDoc(ctx context.Context, hc *http.Client, base, path string, v any) ([]byte, error) {
	c := &client.Client{BaseURL: strings.TrimRight(base, "/"), HTTP: hc}
	u := c.BaseURL + path
	resp, err := c.Do(ctx, http.MethodGet, path, http.Header{"Accept": {"application/json"}}, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if resp.Status != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %w", u, client.ParseError(resp))
	}
	if v != nil {
		if err := json.Unmarshal(resp.Body, v); err != nil {
			return nil, fmt.Errorf("GET %s: the answer is not status JSON: %w", u, err)
		}
	}
	return resp.Body, nil
}

// Export fetches summary.json, status.json and incidents.json from a running
// Floodgate (a core node or a status server) at from, and writes a static
// copy of the status page to dir: index.html (self-contained, readable without
// JavaScript), history.atom and api/v2/*.json. Any web server or object store
// can then serve dir while the core is down. Files are replaced atomically,
// so a server reading dir never sees half a file.
func Export(ctx context.Context, client *http.Client, from, dir string) error {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	// from may list several nodes of a cluster: the first that answers.
	if urls := splitURLs(from); len(urls) > 1 {
		var err error
		for _, u := range urls {
			if err = Export(ctx, client, u, dir); err == nil {
				return nil
			}
		}
		return err
	}
	var sum Summary
	var inc IncidentsDoc
	sumRaw, err := fetchDoc(ctx, client, from, "/api/v2/summary.json", &sum)
	if err != nil {
		return fmt.Errorf("%w (is --from the base URL of a Floodgate node or status server?)", err)
	}
	statusRaw, err := fetchDoc(ctx, client, from, "/api/v2/status.json", nil)
	if err != nil {
		return err
	}
	incRaw, err := fetchDoc(ctx, client, from, "/api/v2/incidents.json", &inc)
	if err != nil {
		return err
	}
	// uptime.json is newer than the other documents: a server without it
	// gives a page without the bars.
	var up *UptimeDoc
	var doc UptimeDoc
	upRaw, err := fetchDoc(ctx, client, from, "/api/v2/uptime.json", &doc)
	if err == nil {
		up = &doc
	}
	var page, atom bytes.Buffer
	if err := RenderPage(&page, sum, inc.Incidents, up, exportNow()); err != nil {
		return fmt.Errorf("render the page: %w", err)
	}
	if err := RenderAtom(&atom, inc); err != nil {
		return fmt.Errorf("render the feed: %w", err)
	}
	files := []struct {
		name string
		data []byte
	}{
		{"api/v2/summary.json", sumRaw},
		{"api/v2/status.json", statusRaw},
		{"api/v2/incidents.json", incRaw},
		{"api/v2/uptime.json", upRaw},
		{"history.atom", atom.Bytes()},
		{"index.html", page.Bytes()}, // last: the page appears when its JSON is in place
	}
	for _, f := range files {
		if f.data == nil {
			continue
		}
		if err := writeFileAtomic(filepath.Join(dir, filepath.FromSlash(f.name)), f.data); err != nil {
			return err
		}
	}
	return nil
}

func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w (check that the output directory is writable)", filepath.Dir(path), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".export-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
