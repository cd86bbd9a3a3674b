package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/fakebill/toolkit/sessiontest"
)

func TestRun(t *testing.T) {
	s := sessiontest.New(t, nil)
	env := map[string]string{
		"FAKEBILL_URL":       s.BaseURL,
		"FAKEBILL_USER_NAME": s.Account.UserName,
		"FAKEBILL_PASSWORD":  s.Account.Password,
		"FAKEBILL_ORG_ID":    s.Account.OrgID,
		"FAKEBILL_DEV_KEY":   s.Account.DevKey,
	}
	if err := s.SetFixture("Crud/Read/Vendor.json", map[string]any{"id": "0091", "name": "Acme"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		unset      string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"session info", []string{"call", "GetSessionInfo.json"}, "", 0, `{"organizationId":"` + s.Account.OrgID, ""},
		{"with data", []string{"call", "Crud/Read/Vendor.json", `{"id":"0091"}`}, "", 0, `{"id":"0091","name":"Acme"}`, ""},
		{"no arguments", nil, "", 2, "", "usage:"},
		{"unknown command", []string{"get", "X.json"}, "", 2, "", "usage:"},
		{"bad data", []string{"call", "Crud/Read/Vendor.json", "{"}, "", 2, "", "not valid JSON"},
		{"no URL", []string{"call", "GetSessionInfo.json"}, "FAKEBILL_URL", 2, "", "FAKEBILL_URL must be set"},
		{"no password", []string{"call", "GetSessionInfo.json"}, "FAKEBILL_PASSWORD", 2, "", "Password is required"},
		{"create, generic success", []string{"call", "Crud/Create/Vendor.json", `{"obj":1}`}, "", 0, "{}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == tt.unset {
					return ""
				}
				return env[k]
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, getenv, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr: %s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantStderr)
			}
			for _, secret := range []string{s.Account.Password, s.Account.DevKey} {
				if strings.Contains(stdout.String()+stderr.String(), secret) {
					t.Errorf("output shows a secret: %q %q", stdout.String(), stderr.String())
				}
			}
		})
	}
}

func TestRunReportsAPIErrors(t *testing.T) {
	s := sessiontest.New(t, nil)
	getenv := func(k string) string {
		return map[string]string{
			"FAKEBILL_URL": s.BaseURL, "FAKEBILL_USER_NAME": s.Account.UserName,
			"FAKEBILL_PASSWORD": "wrong-password", "FAKEBILL_ORG_ID": s.Account.OrgID,
			"FAKEBILL_DEV_KEY": s.Account.DevKey,
		}[k]
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"call", "GetSessionInfo.json"}, getenv, &stdout, &stderr); code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "BDC_1101") || stdout.Len() != 0 {
		t.Errorf("stdout %q, stderr %q; want nothing and an error naming BDC_1101", stdout.String(), stderr.String())
	}
}
