package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// healthTimeout bounds the whole health probe; a container health check
// must answer even when the server hangs.
const healthTimeout = 5 * time.Second

// runHealth asks a server's /_fakebill/health and exits 0 when it answers
// {"status":"ok"}, 1 otherwise.
func runHealth(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fakebill health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rawURL := fs.String("url", "", "server `URL`; only its scheme and host count (default from FAKEBILL_ADDR, else http://127.0.0.1:8080)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "fakebill health: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	root, err := healthRoot(*rawURL, env)
	if err != nil {
		fmt.Fprintf(stderr, "fakebill health: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	if err := checkHealth(ctx, root); err != nil {
		fmt.Fprintf(stderr, "fakebill health: %v\n", err)
		return 1
	}
	return 0
}

// healthRoot picks the server root: the -url flag, else FAKEBILL_ADDR (with
// https when FAKEBILL_TLS is true), else the default address. The control
// API always sits at the root, so a path in -url, such as the v2 base URL
// a -ready-file holds, is dropped.
func healthRoot(flagURL string, env lookupEnv) (string, error) {
	if flagURL != "" {
		u, err := url.Parse(flagURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("-url %q is not an http or https URL", flagURL)
		}
		return u.Scheme + "://" + u.Host, nil
	}
	addr := defaultAddr
	if v, ok := env("FAKEBILL_ADDR"); ok && v != "" {
		addr = v
	}
	scheme := "http"
	if v, ok := env("FAKEBILL_TLS"); ok && v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return "", fmt.Errorf("invalid FAKEBILL_TLS %q: want true or false", v)
		}
		if on {
			scheme = "https"
		}
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("invalid FAKEBILL_ADDR %q: %v", addr, err)
	}
	return scheme + "://" + net.JoinHostPort(dialHost(host), port), nil
}

// dialHost turns a listening host into one a local client can dial: an
// empty or unspecified host becomes the loopback address.
func dialHost(host string) string {
	switch host {
	case "", "0.0.0.0":
		return "127.0.0.1"
	case "::":
		return "::1"
	}
	return host
}

// checkHealth GETs root/_fakebill/health and reports why it is not ok.
func checkHealth(ctx context.Context, root string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, root+"/_fakebill/health", nil)
	if err != nil {
		return err
	}
	client := &http.Client{
		Transport: &http.Transport{
			// Straight to the server: a proxy would check something else.
			Proxy: nil,
			// The server's certificate is usually self-signed; the probe
			// asks whether it answers, not who it is.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("redirect refused")
		},
	}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("reading %s: %w", req.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", req.URL, resp.Status)
	}
	var h struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return fmt.Errorf("%s answered no health JSON: %w", req.URL, err)
	}
	if h.Status != "ok" {
		return fmt.Errorf("%s answered status %q", req.URL, h.Status)
	}
	return nil
}
