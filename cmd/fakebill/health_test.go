package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthRoot(t *testing.T) {
	tests := []struct {
		name    string
		flag    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{name: "default", want: "http://127.0.0.1:8080"},
		{name: "container address", env: map[string]string{"FAKEBILL_ADDR": ":8080"}, want: "http://127.0.0.1:8080"},
		{name: "any IPv4", env: map[string]string{"FAKEBILL_ADDR": "0.0.0.0:9000"}, want: "http://127.0.0.1:9000"},
		{name: "any IPv6", env: map[string]string{"FAKEBILL_ADDR": "[::]:9000"}, want: "http://[::1]:9000"},
		{name: "named host", env: map[string]string{"FAKEBILL_ADDR": "localhost:9000"}, want: "http://localhost:9000"},
		{name: "tls from env", env: map[string]string{"FAKEBILL_ADDR": ":8443", "FAKEBILL_TLS": "true"}, want: "https://127.0.0.1:8443"},
		{name: "tls off", env: map[string]string{"FAKEBILL_TLS": "false"}, want: "http://127.0.0.1:8080"},
		{name: "flag over env", flag: "https://127.0.0.1:1234/", env: map[string]string{"FAKEBILL_ADDR": ":8080"}, want: "https://127.0.0.1:1234"},
		{name: "v2 base URL from a ready file", flag: "http://127.0.0.1:41234/api/v2", want: "http://127.0.0.1:41234"},
		{name: "bad flag", flag: "127.0.0.1:8080", wantErr: "not an http or https URL"},
		{name: "bad addr", env: map[string]string{"FAKEBILL_ADDR": "8080"}, wantErr: "invalid FAKEBILL_ADDR"},
		{name: "bad tls", env: map[string]string{"FAKEBILL_TLS": "on-ish"}, wantErr: "invalid FAKEBILL_TLS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := healthRoot(tt.flag, mapEnv(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("healthRoot(%q) error = %v, want one containing %q", tt.flag, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("healthRoot(%q) error: %v", tt.flag, err)
			}
			if got != tt.want {
				t.Errorf("healthRoot(%q) = %q, want %q", tt.flag, got, tt.want)
			}
		})
	}
}

func TestHealthAnswers(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		tls        bool
		wantCode   int
		wantStderr string
	}{
		{name: "ok", status: 200, body: `{"status":"ok","version":"0.1.0"}`, wantCode: 0},
		{name: "ok over self-signed tls", status: 200, body: `{"status":"ok"}`, tls: true, wantCode: 0},
		{name: "not ok", status: 200, body: `{"status":"starting"}`, wantCode: 1, wantStderr: `status "starting"`},
		{name: "server error", status: 503, body: `{"status":"ok"}`, wantCode: 1, wantStderr: "503"},
		{name: "not json", status: 200, body: `ok`, wantCode: 1, wantStderr: "no health JSON"},
		{name: "redirect", status: 302, wantCode: 1, wantStderr: "redirect refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotPath string
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotPath = r.URL.Path
				if tt.status == 302 {
					http.Redirect(w, r, "/elsewhere", http.StatusFound)
					return
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			var ts *httptest.Server
			if tt.tls {
				ts = httptest.NewTLSServer(h)
			} else {
				ts = httptest.NewServer(h)
			}
			defer ts.Close()

			var stdout, stderr bytes.Buffer
			got := run(t.Context(), []string{"health", "-url", ts.URL}, mapEnv(nil), &stdout, &stderr)
			if got != tt.wantCode {
				t.Errorf("health = %d, want %d; stderr: %s", got, tt.wantCode, stderr.String())
			}
			if gotPath != "/_fakebill/health" {
				t.Errorf("health asked %q, want /_fakebill/health", gotPath)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}

func TestHealthUnreachable(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close() // nothing listens there now
	var stdout, stderr bytes.Buffer
	if got := run(t.Context(), []string{"health", "-url", url}, mapEnv(nil), &stdout, &stderr); got != 1 {
		t.Errorf("health against a closed port = %d, want 1", got)
	}
	if stderr.Len() == 0 {
		t.Error("stderr is empty, want the reason")
	}
}
