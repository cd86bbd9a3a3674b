package examples_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fakebill/toolkit/fakebill"
)

// TestComposeExample runs examples/compose/run.sh: images built from
// scratch, the fake reached by its service name, a healthcheck, a clock
// move through the control API, a re-login, and an audit from inside the
// compose network. It needs a working docker daemon.
func TestComposeExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries and images; skipped with -short")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker is not installed; TestComposeRehearsal covers the topology on loopback")
	}
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		t.Skipf("docker info failed, so there is no daemon to run compose with; TestComposeRehearsal covers the topology on loopback: %v\n%s", err, firstLines(out, 3))
	}
	requireTools(t, "bash", "curl")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "compose/run.sh")
	project := fmt.Sprintf("fakebill-example-%d", os.Getpid())
	cmd.Env = append(os.Environ(), "FAKEBILL_COMPOSE_PROJECT="+project)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run.sh: %v; its output:\n%s", err, out)
	}
	defer func() {
		if t.Failed() {
			t.Logf("run.sh output:\n%s", out)
		}
	}()

	for _, tt := range []struct {
		what string
		re   string
	}{
		{"the healthcheck went healthy", `(?m)^fakebill health: healthy$`},
		{"the client reached the fake by its service name", `(?m)^url: http://fakebill:8080/api/v2$`},
		{"apiEndPoint names the host the client used", `(?m)^apiEndPoint: http://fakebill:8080/api/v2$`},
		{"the client logged in again after 35 idle minutes", `(?m)^the client logged in again after the expiry`},
		{"audit passed the client's traffic", `(?s)run\.sh: audit of the fake's journal.*\b[1-9][0-9]* passed, 0 failed.*run\.sh: conformance run`},
		{"conformance passed inside the client's container", `(?s)run\.sh: conformance run.*\b[1-9][0-9]* passed, 0 failed`},
		{"every step passed", `(?m)^run\.sh: done: every step passed$`},
	} {
		if !regexp.MustCompile(tt.re).Match(out) {
			t.Errorf("%s: run.sh output does not match %s", tt.what, tt.re)
		}
	}
}

func firstLines(b []byte, n int) string {
	lines := strings.SplitN(string(b), "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

// fakebillProcess is `fakebill serve` started by a test.
type fakebillProcess struct {
	root string // http://127.0.0.1:PORT
	addr string // 127.0.0.1:PORT
}

// startFakebill runs the fakebill binary on a free loopback port with a
// manual clock and the demo account, and returns once it listens.
func startFakebill(t *testing.T) *fakebillProcess {
	t.Helper()
	bin := buildTool(t, "fakebill", "../cmd/fakebill")
	cmd := exec.Command(bin, "serve", "-addr", "127.0.0.1:0", "-clock", "manual")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	// The first stdout line names the URL: "fakebill: serving URL".
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`(http://127\.0\.0\.1:\d+)/api/v2`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
				break
			}
		}
		for sc.Scan() { // drain, so the server never blocks on stdout
		}
		close(urls)
	}()
	select {
	case root, ok := <-urls:
		if !ok {
			t.Fatal("fakebill exited without announcing its URL")
		}
		return &fakebillProcess{root: root, addr: strings.TrimPrefix(root, "http://")}
	case <-time.After(answerTimeout):
		t.Fatal("fakebill did not announce its URL")
	}
	panic("unreachable")
}

// control sends one control API request and decodes the answer into out.
func (p *fakebillProcess) control(t *testing.T, method, path, body string, out any) {
	t.Helper()
	req, err := http.NewRequest(method, p.root+"/_fakebill"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// TestComposeRehearsal runs the compose topology without docker: the fake
// as its own process on loopback, and the clients reaching it under the
// name "fakebill:8080", mapped to the loopback port as docker's DNS would.
func TestComposeRehearsal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries; skipped with -short")
	}
	fb := startFakebill(t)
	resolve := "-resolve=fakebill:8080=" + fb.addr
	env := adapterEnv("http://fakebill:8080/api/v2", fakebill.DemoAccount)

	// The one-shot client.
	cmd := exec.Command(buildTool(t, "whoami", "./compose/whoami"), resolve)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("whoami: %v\n%s", err, stderr.Bytes())
	}
	want := "url: http://fakebill:8080/api/v2\napiEndPoint: http://fakebill:8080/api/v2\norgId: " + fakebill.DemoAccount.OrgID + "\n"
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("whoami output (-want +got):\n%s", diff)
	}

	// The long-lived client across a clock move.
	var mark struct {
		Entries []fakebill.Entry `json:"entries"`
	}
	fb.control(t, "GET", "/journal?since=0", "", &mark)
	since := int64(0)
	if n := len(mark.Entries); n > 0 {
		since = mark.Entries[n-1].Seq
	}
	p, hello := startAdapter(t, []string{buildTool(t, "goadapter", "./adapters/go"), resolve}, env)
	if !hello.OK {
		t.Fatalf("hello = %s", hello.raw)
	}
	wantOK(t, p.call("GetSessionInfo.json", map[string]any{}))
	fb.control(t, "POST", "/clock/advance", `{"by":"35m"}`, nil)
	wantOK(t, p.call("GetSessionInfo.json", map[string]any{}))
	p.closeAndWait(false)

	var journal struct {
		Entries []fakebill.Entry `json:"entries"`
	}
	fb.control(t, "GET", fmt.Sprintf("/journal?since=%d", since), "", &journal)
	var got []step
	for _, e := range journal.Entries {
		got = append(got, step{e.Op, e.Code})
	}
	if diff := cmp.Diff([]step{login, info, infoDead, login, info, logout}, got); diff != "" {
		t.Errorf("requests the fake saw (-want +got):\n%s", diff)
	}

	// The audit, as run.sh runs it from inside the network.
	audit := exec.Command(buildTool(t, "fakebill", "../cmd/fakebill"), "audit", "-url", fb.root)
	if out, err := audit.CombinedOutput(); err != nil {
		t.Errorf("fakebill audit -url %s: %v\n%s", fb.root, err, out)
	}
}
