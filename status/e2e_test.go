package status

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// statusProc is a running floodgate status serve.
type statusProc struct {
	cmd  *exec.Cmd
	URL  string
	mu   sync.Mutex
	logs strings.Builder
	done chan struct{}
}

var listenRE = regexp.MustCompile(`status page listening"? addr=(\S+)`)

func startStatusServe(t *testing.T, bin string, args ...string) *statusProc {
	t.Helper()
	p := &statusProc{done: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"status", "serve"}, args...)...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logs.WriteString(line + "\n")
			p.mu.Unlock()
			if m := listenRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("floodgate status serve log:\n%s", p.log())
		}
	})
	select {
	case a := <-addr:
		p.URL = "http://" + a
	case <-p.done:
		t.Fatalf("floodgate status serve exited:\n%s", p.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("floodgate status serve did not start:\n%s", p.log())
	}
	return p
}

func (p *statusProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

func summaryOf(t *testing.T, url string) (Summary, bool) {
	resp, err := http.Get(url + "/api/v2/summary.json")
	if err != nil {
		return Summary{}, false
	}
	defer resp.Body.Close()
	var s Summary
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&s) != nil {
		return Summary{}, false
	}
	return s, true
}

func hasIncident(s Summary, pred func(SPIncident) bool) bool {
	for _, inc := range s.Incidents {
		if pred(inc) {
			return true
		}
	}
	return false
}

func TestStatusServeOutlivesTheCore(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test on the real binary")
	}
	bin := testkit.Binary(t)
	c := testkit.StartNode(t, testkit.Options{})

	// The core has an incident of its own before the outage.
	var coreInc Incident
	if code := doJSON(t, "POST", c.URL+"/api/v1/incidents", c.AdminToken, map[string]any{"name": "Queue moves slowly",
		"status": "monitoring", "impact": "minor", "message": "Admission is slower than planned.", "components": []string{"waiting-room"}}, &coreInc); code != http.StatusCreated {
		t.Fatalf("post to the core: %d", code)
	}

	dataDir := t.TempDir()
	p := startStatusServe(t, bin, "--data-dir", dataDir, "--http-addr", "127.0.0.1:0", "--admin-token", "status-admin-token-0123",
		"--from", c.URL, "--poll-interval", "200ms", "--auto-open-after", "600ms", "--auto-resolve-after", "600ms", "--dev")

	testkit.WaitFor(t, "the core's incident mirrored", func() bool {
		s, ok := summaryOf(t, p.URL)
		return ok && hasIncident(s, func(i SPIncident) bool { return i.ID == coreInc.ID })
	})

	// Kill the core. The status server notices by itself.
	c.Kill()
	testkit.WaitFor(t, "the automatic 'unreachable' incident", func() bool {
		s, ok := summaryOf(t, p.URL)
		return ok && s.Status.Indicator == ImpactCritical &&
			hasIncident(s, func(i SPIncident) bool { return strings.Contains(i.Name, "unreachable") })
	})

	// During the outage an operator posts to the status server directly.
	var posted Incident
	if code := doJSON(t, "POST", p.URL+"/api/v1/incidents", "status-admin-token-0123", map[string]any{
		"name": "Sale paused: data centre power loss", "status": "identified", "impact": "critical",
		"message": "Your place in the queue is kept. 대기 순번은 유지됩니다.", "components": []string{"checkout", "orders"},
		"cause": "Power loss at the primary site.", "response": "Moving to the second site."}, &posted); code != http.StatusCreated {
		t.Fatalf("post to the status server during the outage: %d", code)
	}
	if code := doJSON(t, "POST", p.URL+"/api/v1/incidents/"+posted.ID+"/updates", "status-admin-token-0123",
		map[string]any{"status": "monitoring", "message": "The second site is taking orders."}, nil); code != http.StatusCreated {
		t.Fatalf("update during the outage: %d", code)
	}
	page := testkit.MustGetOK(t, p.URL+"/status")
	for _, want := range []string{"Sale paused: data centre power loss", "The second site is taking orders.", "Queue moves slowly", "unreachable", "전면 장애"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page during the outage lacks %q", want)
		}
	}
	var banner Banner
	if code := doJSON(t, "GET", p.URL+"/api/v1/banner", "", nil, &banner); code != http.StatusOK || !banner.Active || banner.Level != ImpactCritical {
		t.Errorf("banner during the outage: %d %+v", code, banner)
	}

	// A static export from the status server while the core is down.
	out := t.TempDir()
	if b, err := exec.Command(bin, "status", "export", "--from", p.URL, "--out", out).CombinedOutput(); err != nil {
		t.Fatalf("floodgate status export: %v\n%s", err, b)
	}
	html, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil || !strings.Contains(string(html), "Sale paused: data centre power loss") {
		t.Fatalf("exported page: %v", err)
	}
	var exported Summary
	raw, _ := os.ReadFile(filepath.Join(out, "api", "v2", "summary.json"))
	if err := json.Unmarshal(raw, &exported); err != nil || !hasIncident(exported, func(i SPIncident) bool { return i.ID == posted.ID }) {
		t.Fatalf("exported summary.json: %v", err)
	}

	// The status server's own store outlives a restart of itself too.
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	p2 := startStatusServe(t, bin, "--data-dir", dataDir, "--http-addr", "127.0.0.1:0", "--admin-token", "status-admin-token-0123")
	s, ok := summaryOf(t, p2.URL)
	if !ok || !hasIncident(s, func(i SPIncident) bool { return i.ID == posted.ID }) || !hasIncident(s, func(i SPIncident) bool { return i.ID == coreInc.ID }) {
		t.Fatalf("after a restart the status server lost incidents: %+v", s.Incidents)
	}
}

func TestMain(m *testing.M) { os.Exit(testkit.RunMain(m)) }
