package main

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// repoFile is a path at the repository root, two levels up from here.
func repoFile(name string) string { return filepath.Join("..", "..", name) }

// dockerInstructions reads the Dockerfile's instructions, continuation
// lines joined, comments dropped, as "KEYWORD rest".
func dockerInstructions(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(repoFile("Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if more, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(strings.TrimSpace(more) + " ")
			continue
		}
		cur.WriteString(line)
		out = append(out, cur.String())
		cur.Reset()
	}
	return out
}

func TestDockerfile(t *testing.T) {
	ins := dockerInstructions(t)
	find := func(keyword string) []string {
		var got []string
		for _, in := range ins {
			if k, rest, _ := strings.Cut(in, " "); strings.EqualFold(k, keyword) {
				got = append(got, rest)
			}
		}
		return got
	}
	tests := []struct {
		keyword string
		want    *regexp.Regexp // every instruction of this keyword matches
	}{
		{"FROM", regexp.MustCompile(`^scratch$`)},
		{"COPY", regexp.MustCompile(`^dist/fakebill /fakebill$`)},
		{"USER", regexp.MustCompile(`^[1-9][0-9]*:[1-9][0-9]*$`)}, // numeric, not root
		{"EXPOSE", regexp.MustCompile(`^8080$`)},
		{"ENV", regexp.MustCompile(`^FAKEBILL_ADDR=:8080$`)},
		{"HEALTHCHECK", regexp.MustCompile(`CMD \["/fakebill", "health"\]$`)},
		{"ENTRYPOINT", regexp.MustCompile(`^\["/fakebill"\]$`)},
	}
	for _, tt := range tests {
		t.Run(tt.keyword, func(t *testing.T) {
			got := find(tt.keyword)
			if len(got) != 1 {
				t.Fatalf("%d %s instructions %q, want 1", len(got), tt.keyword, got)
			}
			if !tt.want.MatchString(got[0]) {
				t.Errorf("%s %s, want it to match %s", tt.keyword, got[0], tt.want)
			}
		})
	}
	if len(find("RUN")) > 0 {
		t.Errorf("RUN in a FROM scratch image: %q", find("RUN"))
	}
}

func TestDockerignoreKeepsBinary(t *testing.T) {
	b, err := os.ReadFile(repoFile(".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	lines := nonEmptyLines(string(b))
	if !strings.Contains(string(b), "\n*\n") || lines[len(lines)-1] != "!dist/fakebill" {
		t.Errorf(".dockerignore = %q, want it to exclude everything, then re-include dist/fakebill last", b)
	}
}

// TestDockerImage builds the image around a fresh static binary, runs it,
// waits for the health check and logs in. It needs a working docker.
func TestDockerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image; skipped with -short")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker is not installed; the image is not tested here")
	}
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		t.Skipf("docker info failed, so no daemon to build with; the image is not tested here: %v\n%s", err, firstLine(out))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	docker := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}

	// The build context is a copy: the binary, the Dockerfile and the
	// .dockerignore, so this test never touches the repository's dist/.
	ctxDir := t.TempDir()
	os.Mkdir(filepath.Join(ctxDir, "dist"), 0o755)
	copyFile(t, fakebillBinary(t), filepath.Join(ctxDir, "dist", "fakebill"), 0o755)
	copyFile(t, repoFile("Dockerfile"), filepath.Join(ctxDir, "Dockerfile"), 0o644)
	copyFile(t, repoFile(".dockerignore"), filepath.Join(ctxDir, ".dockerignore"), 0o644)
	docker("build", "--pull=false", "-t", "fakebill:test", ctxDir)

	id := docker("run", "-d", "-p", "127.0.0.1::8080", "fakebill:test")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", id).Run() })

	// Wait for the image's own health check, "fakebill health", to pass.
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		state, health, _ := strings.Cut(docker("inspect", "-f", "{{.State.Status}} {{.State.Health.Status}}", id), " ")
		if health == "healthy" {
			break
		}
		if state != "running" || health == "unhealthy" || time.Now().After(deadline) {
			t.Fatalf("container %s, health %q; logs:\n%s", state, health, docker("logs", id))
		}
		<-tick.C
	}

	hostPort := docker("port", id, "8080/tcp")
	hostPort = firstLine([]byte(hostPort)) // one line per address family
	if !strings.HasPrefix(hostPort, "127.0.0.1:") {
		t.Fatalf("published on %q, want 127.0.0.1 only", hostPort)
	}
	s := &served{base: "http://" + hostPort + "/api/v2", root: "http://" + hostPort, client: &http.Client{Transport: &http.Transport{}}}
	defer s.client.CloseIdleConnections()
	sid := s.login(t, demo)
	if r := s.call(t, s.base, "GetSessionInfo.json", sessionForm(demo, sid)); r.Status != 0 {
		t.Errorf("GetSessionInfo in the container = %s %s, want success", r.Message, r.Data)
	}
	if user := docker("inspect", "-f", "{{.Config.User}}", id); user != "65532:65532" {
		t.Errorf("container user %q, want 65532:65532", user)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(s)
}
