package main

import (
	"crypto/x509"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSelfSignedCertHosts(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		valid   []string
		invalid []string
	}{
		{
			name:    "loopback only",
			args:    []string{"-tls", "-addr", "127.0.0.1:0"},
			valid:   []string{"127.0.0.1", "::1", "localhost"},
			invalid: []string{"fakebill", "10.0.0.1"},
		},
		{
			name:  "host of -addr",
			args:  []string{"-tls", "-addr", "192.0.2.10:8443"},
			valid: []string{"192.0.2.10", "127.0.0.1"},
		},
		{
			name:    "host of -public-url",
			args:    []string{"-tls", "-addr", ":8443", "-public-url", "https://fakebill:8443/api/v2"},
			valid:   []string{"fakebill", "localhost"},
			invalid: []string{"fakebill.example"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseServe(tt.args, mapEnv(nil), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			var a app
			if err := a.setupTLS(c); err != nil {
				t.Fatal(err)
			}
			cert := parseCert(t, a.certPEM)
			for _, h := range tt.valid {
				if err := cert.VerifyHostname(h); err != nil {
					t.Errorf("VerifyHostname(%q) = %v, want nil", h, err)
				}
			}
			for _, h := range tt.invalid {
				if err := cert.VerifyHostname(h); err == nil {
					t.Errorf("VerifyHostname(%q) = nil, want an error", h)
				}
			}
			if cert.PublicKeyAlgorithm != x509.ECDSA {
				t.Errorf("key algorithm %v, want ECDSA", cert.PublicKeyAlgorithm)
			}
			if now := time.Now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
				t.Errorf("valid %v to %v, want now inside", cert.NotBefore, cert.NotAfter)
			}
			// A client that trusts the certificate as a root accepts it.
			pool := x509.NewCertPool()
			pool.AddCert(cert)
			if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost"}); err != nil {
				t.Errorf("Verify against itself: %v", err)
			}
		})
	}
}

func TestAccountsFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string // error substring; "" for success
	}{
		{name: "testdata", content: "", want: ""},
		{name: "misspelt key", content: `[{"user_name":"u@example.invalid"}]`, want: `unknown field "user_name"`},
		{name: "not an array", content: `{"userName":"u"}`, want: "cannot unmarshal"},
		{name: "empty", content: `[]`, want: "no accounts"},
		{name: "two values", content: `[{"userName":"a"}] [{"userName":"b"}]`, want: "more than one JSON value"},
		{name: "incomplete account", content: `[{"userName":"solo@example.invalid"}]`, want: "missing password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := "testdata/accounts.json"
			if tt.content != "" {
				file = filepath.Join(t.TempDir(), "accounts.json")
				if err := os.WriteFile(file, []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			c, err := parseServe([]string{"-accounts", file}, mapEnv(nil), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.build(slog.New(slog.DiscardHandler))
			if tt.want == "" {
				if err != nil {
					t.Errorf("build with %s: %v", file, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("build error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
