package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fakebill/toolkit/fakebill"
)

func TestResolveFlag(t *testing.T) {
	tests := []struct {
		in      string
		want    resolveFlag
		wantErr bool
	}{
		{in: "fakebill:8080=127.0.0.1:4000", want: resolveFlag{"fakebill:8080": "127.0.0.1:4000"}},
		{in: "fakebill:8080=[::1]:4000", want: resolveFlag{"fakebill:8080": "[::1]:4000"}},
		{in: "fakebill:8080", wantErr: true},
		{in: "fakebill=127.0.0.1:4000", wantErr: true},
		{in: "fakebill:8080=127.0.0.1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := resolveFlag{}
			err := got.Set(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Set(%q) error = %v, want error: %v", tt.in, err, tt.wantErr)
			}
			if err == nil {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("Set(%q) (-want +got):\n%s", tt.in, diff)
				}
			}
		})
	}
}

// env returns a getenv for the fake's demo account at baseURL.
func env(baseURL string) func(string) string {
	vars := map[string]string{
		"FAKEBILL_URL":       baseURL,
		"FAKEBILL_USER_NAME": fakebill.DemoAccount.UserName,
		"FAKEBILL_PASSWORD":  fakebill.DemoAccount.Password,
		"FAKEBILL_ORG_ID":    fakebill.DemoAccount.OrgID,
		"FAKEBILL_DEV_KEY":   fakebill.DemoAccount.DevKey,
	}
	return func(k string) string { return vars[k] }
}

func TestRunSetupErrors(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		getenv func(string) string
		stderr string
	}{
		{"no URL", nil, env(""), "BaseURL"},
		{"bad flag", []string{"-nope"}, env("http://127.0.0.1:1/api/v2"), "-nope"},
		{"bad resolve", []string{"-resolve", "x"}, env("http://127.0.0.1:1/api/v2"), "HOST:PORT=ADDR:PORT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, tt.getenv, strings.NewReader(""), &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tt.stderr) || stdout.Len() != 0 {
				t.Errorf("run = %d, stdout %q, stderr %q; want 2, nothing, a message with %q", code, stdout.String(), stderr.String(), tt.stderr)
			}
		})
	}
}

// TestServe runs the protocol in process, under the race detector when
// asked: three overlapping calls on an expired session, then close.
func TestServe(t *testing.T) {
	clock := fakebill.NewManualClock(fakebill.DefaultStartTime)
	fake, err := fakebill.NewServer(fakebill.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(fake)
	defer ts.Close()

	// The first call logs in; the other three race on that session, which
	// the fake ends between the two batches of lines the adapter reads.
	first := `{"id":0,"op":"hello","protocol":1}
{"id":1,"op":"call","path":"GetSessionInfo.json","data":{}}
`
	rest := `{"id":2,"op":"call","path":"GetSessionInfo.json"}
{"id":3,"op":"call","path":"Crud/Read/Vendor.json","data":{"id":"009x"}}
{"id":4,"op":"call","path":"List/Vendor.json","data":null}
{"id":5,"op":"frobnicate"}
not json
{"id":6,"op":"close"}
`
	stdout := &lineWriter{lines: make(chan string, 16)}
	stdin := &stagedReader{parts: []string{first, rest}, between: func() {
		<-stdout.lines // hello
		<-stdout.lines // call 1: the session exists
		fake.EndAll()
	}}
	var stderr bytes.Buffer
	if code := run([]string{"-resolve", "fakebill:8080=" + strings.TrimPrefix(ts.URL, "http://")},
		env("http://fakebill:8080/api/v2"), stdin, stdout, &stderr); code != 0 {
		t.Fatalf("run = %d, want 0; stderr:\n%s", code, stderr.String())
	}

	got := map[string]string{}
	for line := range strings.Lines(stdout.all.String()) {
		var a struct {
			ID    json.RawMessage `json:"id"`
			OK    bool            `json:"ok"`
			Error *answerError    `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("stdout line %q: %v", line, err)
		}
		outcome := "ok"
		if !a.OK {
			outcome = a.Error.Kind + " " + a.Error.Message
		}
		got[string(a.ID)] = outcome
	}
	want := map[string]string{
		"0": "ok", "1": "ok", "2": "ok", "3": "ok", "4": "ok", "6": "ok",
		"5":    "other unknown op",
		"null": "other request is not JSON",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers by id (-want +got):\n%s", diff)
	}
	if n := strings.Count(stderr.String(), "logged in"); n != 2 {
		t.Errorf("logins in the log = %d, want 2 (one, then one for the three callers):\n%s", n, stderr.String())
	}
}

// stagedReader yields parts one at a time and runs between after the
// first is consumed, so a test can act between two batches of requests.
type stagedReader struct {
	parts   []string
	between func()
	cur     *strings.Reader
	n       int
}

func (r *stagedReader) Read(p []byte) (int, error) {
	for r.cur == nil || r.cur.Len() == 0 {
		if r.n == len(r.parts) {
			return 0, io.EOF
		}
		if r.n == 1 {
			r.between()
		}
		r.cur = strings.NewReader(r.parts[r.n])
		r.n++
	}
	return r.cur.Read(p)
}

// lineWriter keeps everything written and announces each line, the
// adapter writing one whole line per Write.
type lineWriter struct {
	mu    sync.Mutex
	all   bytes.Buffer
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(p)
	select {
	case w.lines <- string(p):
	default: // nobody waits for later lines
	}
	return len(p), nil
}
