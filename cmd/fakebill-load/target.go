package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// target is the fakebill under load: its v2 base URL, its control API and
// an HTTP client that reaches nothing but loopback.
type target struct {
	base    string // v2 base URL, no trailing slash
	control string // root + "/_fakebill"
	token   string // bearer token of the control API, if any
	client  *http.Client
}

// errNotLoopback is returned for a URL whose host is not a loopback
// address: the load tool refuses to aim traffic anywhere else.
var errNotLoopback = errors.New("host is not a loopback address (want 127.0.0.1, ::1 or localhost)")

// loopbackURL checks raw and returns the v2 base URL and the server root.
// A URL with no path or "/" means the default prefix /api/v2.
func loopbackURL(raw string) (base, root string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", "", fmt.Errorf("-url %q: want an absolute http or https URL", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("-url %q: want no user, query or fragment", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return "", "", fmt.Errorf("-url %q: %w", raw, errNotLoopback)
	}
	hostport := ip.String()
	if ip.Is6() {
		hostport = "[" + hostport + "]"
	}
	if p := u.Port(); p != "" {
		hostport += ":" + p
	}
	root = u.Scheme + "://" + hostport
	path := strings.TrimRight(u.EscapedPath(), "/")
	if path == "" {
		path = "/api/v2"
	}
	return root + path, root, nil
}

// newTarget returns a target for the v2 base URL raw.
func newTarget(raw, token string, conns int) (*target, error) {
	base, root, err := loopbackURL(raw)
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		Proxy: nil, // never through a proxy, whatever the environment says
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			// The URL was checked; this holds for every connection.
			ap, err := netip.ParseAddrPort(addr)
			if err != nil || !ap.Addr().IsLoopback() {
				return nil, fmt.Errorf("dial %s: %w", addr, errNotLoopback)
			}
			return dialer.DialContext(ctx, network, addr)
		},
		MaxIdleConns:        conns + 4,
		MaxIdleConnsPerHost: conns + 4,
		IdleConnTimeout:     30 * time.Second,
		// A self-signed fakebill is the only HTTPS peer this tool talks to.
		TLSClientConfig: insecureLoopbackTLS(),
	}
	return &target{
		base:    base,
		control: root + "/_fakebill",
		token:   token,
		client: &http.Client{
			Transport: tr,
			Timeout:   30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse // fakebill never redirects; count it if it did
			},
		},
	}, nil
}

// post sends a v2 form request to op ("Login.json") with an optional raw
// query, and returns the HTTP status and body.
func (t *target) post(ctx context.Context, op, query string, form url.Values) (int, []byte, error) {
	u := t.base + "/" + op
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return t.do(req)
}

func (t *target) do(req *http.Request) (int, []byte, error) {
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, body, err
}

// controlCall sends a control API request and decodes a 200 answer into
// out (when not nil).
func (t *target) controlCall(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.control+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	status, b, err := t.do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, status, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// stats is the part of GET /_fakebill/stats the report uses.
type stats struct {
	LiveSessions   int    `json:"live_sessions"`
	PeakSessions   int    `json:"peak_sessions"`
	JournalLen     int    `json:"journal_len"`
	Dropped        int64  `json:"dropped"`
	HeapInuseBytes uint64 `json:"heap_inuse_bytes"`
}

// heap clears the journal, so that its entries do not count, and reads
// the server's stats, taken after a garbage collection.
func (t *target) heap(ctx context.Context) (stats, error) {
	var st stats
	if err := t.controlCall(ctx, http.MethodDelete, "/journal", nil, nil); err != nil {
		return st, err
	}
	err := t.controlCall(ctx, http.MethodGet, "/stats", nil, &st)
	return st, err
}

// advance moves the server's clock forward by d.
func (t *target) advance(ctx context.Context, d time.Duration) error {
	return t.controlCall(ctx, http.MethodPost, "/clock/advance", map[string]string{"by": d.String()}, nil)
}

// spawned is a fakebill binary this tool started.
type spawned struct {
	cmd  *exec.Cmd
	dir  string
	done chan error
}

// spawn starts the fakebill binary at path on 127.0.0.1:0 with a manual
// clock, waits for its ready file and returns its v2 base URL. extra
// flags go to the server after the tool's own, so they win.
func spawn(path string, extra []string, wait time.Duration, stderr io.Writer) (*spawned, string, error) {
	dir, err := os.MkdirTemp("", "fakebill-load-")
	if err != nil {
		return nil, "", err
	}
	ready := filepath.Join(dir, "ready")
	args := append([]string{"serve", "-addr", "127.0.0.1:0", "-ready-file", ready,
		"-clock", "manual", "-log-level", "error"}, extra...)
	cmd := exec.Command(path, args...)
	cmd.Stdout = io.Discard // the listening line and the demo account banner
	cmd.Stderr = stderr
	cmd.Env = spawnEnv()
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, "", fmt.Errorf("-spawn: %w", err)
	}
	s := &spawned{cmd: cmd, dir: dir, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()

	deadline := time.Now().Add(wait)
	for {
		b, err := os.ReadFile(ready)
		if err == nil && len(bytes.TrimSpace(b)) > 0 {
			return s, string(bytes.TrimSpace(b)), nil
		}
		select {
		case err := <-s.done:
			s.done <- err
			s.stop()
			return nil, "", fmt.Errorf("-spawn: server exited before it was ready: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, "", fmt.Errorf("-spawn: no ready file after %v", wait)
		}
	}
}

// spawnEnv is this process's environment without FAKEBILL_ variables, so
// that only the tool's flags configure the spawned server.
func spawnEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FAKEBILL_") {
			env = append(env, kv)
		}
	}
	return env
}

// stop ends the spawned server with SIGTERM, then SIGKILL after 5 s.
func (s *spawned) stop() {
	defer os.RemoveAll(s.dir)
	terminate(s.cmd.Process)
	select {
	case err := <-s.done:
		s.done <- err
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// terminate asks p to shut down cleanly, or kills it where signals are
// not supported.
func terminate(p *os.Process) {
	if err := p.Signal(syscall.SIGTERM); err != nil {
		p.Kill()
	}
}

// insecureLoopbackTLS accepts the self-signed certificate of a fakebill
// started with -tls; every connection is checked to be loopback first.
func insecureLoopbackTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
}
