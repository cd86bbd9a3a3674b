package main

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fakebill/toolkit/fakebill"
)

func TestRun(t *testing.T) {
	fake, err := fakebill.NewServer(fakebill.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(fake)
	defer ts.Close()
	addr := strings.TrimPrefix(ts.URL, "http://")
	demo := fakebill.DemoAccount

	tests := []struct {
		name     string
		args     []string
		url      string
		password string
		code     int
		stdout   string
		stderr   string
	}{
		{
			name: "by address", url: ts.URL + "/api/v2", password: demo.Password,
			stdout: "url: " + ts.URL + "/api/v2\napiEndPoint: " + ts.URL + "/api/v2\norgId: " + demo.OrgID + "\n",
		},
		{
			name: "by service name", args: []string{"-resolve", "fakebill:8080=" + addr},
			url: "http://fakebill:8080/api/v2/", password: demo.Password,
			stdout: "url: http://fakebill:8080/api/v2\napiEndPoint: http://fakebill:8080/api/v2\norgId: " + demo.OrgID + "\n",
		},
		{
			name: "wrong password", url: ts.URL + "/api/v2", password: "wrong-password",
			code: 1, stderr: "whoami: login: BDC_1101: User name and/or password do not match our records.\n",
		},
		{name: "no URL", code: 2, stderr: "whoami: FAKEBILL_URL must be set\n"},
		{name: "bad resolve", args: []string{"-resolve", "x"}, url: ts.URL, code: 2,
			stderr: "whoami: -resolve: want HOST:PORT=ADDR:PORT\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{
				"FAKEBILL_URL": tt.url, "FAKEBILL_USER_NAME": demo.UserName,
				"FAKEBILL_PASSWORD": tt.password, "FAKEBILL_ORG_ID": demo.OrgID,
				"FAKEBILL_DEV_KEY": demo.DevKey,
			}
			var stdout, stderr bytes.Buffer
			code := run(tt.args, func(k string) string { return vars[k] }, &stdout, &stderr)
			if code != tt.code || stdout.String() != tt.stdout || stderr.String() != tt.stderr {
				t.Errorf("run = %d\nstdout %q\nstderr %q\nwant %d\nstdout %q\nstderr %q",
					code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
			}
		})
	}
	if n := len(fake.Sessions(0)); n != 0 {
		t.Errorf("live sessions after the runs = %d, want 0: whoami logs out", n)
	}
}
