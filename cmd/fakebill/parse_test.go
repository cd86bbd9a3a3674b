package main

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseServePrecedence(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		get  func(*serveConfig) any
		want any
	}{
		{name: "addr default", get: addr, want: "127.0.0.1:8080"},
		{name: "addr env", env: map[string]string{"FAKEBILL_ADDR": ":8080"}, get: addr, want: ":8080"},
		{name: "addr flag", args: []string{"-addr", "127.0.0.1:0"}, get: addr, want: "127.0.0.1:0"},
		{
			name: "addr flag over env",
			args: []string{"-addr", "127.0.0.1:9"},
			env:  map[string]string{"FAKEBILL_ADDR": ":8080"},
			get:  addr, want: "127.0.0.1:9",
		},
		{name: "empty env counts as unset", env: map[string]string{"FAKEBILL_ADDR": ""}, get: addr, want: "127.0.0.1:8080"},
		{name: "idle default", get: idle, want: 35 * time.Minute},
		{name: "idle env", env: map[string]string{"FAKEBILL_IDLE_TIMEOUT": "10m"}, get: idle, want: 10 * time.Minute},
		{
			name: "idle flag over env",
			args: []string{"-idle-timeout=2m"},
			env:  map[string]string{"FAKEBILL_IDLE_TIMEOUT": "10m"},
			get:  idle, want: 2 * time.Minute,
		},
		{name: "admin default", get: admin, want: true},
		{name: "admin env false", env: map[string]string{"FAKEBILL_ADMIN": "false"}, get: admin, want: false},
		{
			name: "admin flag over env",
			args: []string{"-admin=true"},
			env:  map[string]string{"FAKEBILL_ADMIN": "false"},
			get:  admin, want: true,
		},
		{
			name: "dashes become underscores",
			env:  map[string]string{"FAKEBILL_STRICT_ENDPOINTS": "true", "FAKEBILL_MAX_BODY": "123"},
			get:  func(c *serveConfig) any { return [2]any{c.strict, c.maxBody} },
			want: [2]any{true, int64(123)},
		},
		{
			name: "lower-case variable is not ours",
			env:  map[string]string{"fakebill_addr": ":1"},
			get:  addr, want: "127.0.0.1:8080",
		},
		{
			name: "choice env",
			env:  map[string]string{"FAKEBILL_LEAKS": "record", "FAKEBILL_LOG_FORMAT": "json"},
			get:  func(c *serveConfig) any { return c.leaks.value + "," + c.logFormat.value },
			want: "record,json",
		},
		{
			name: "log level env",
			env:  map[string]string{"FAKEBILL_LOG_LEVEL": "warn"},
			get:  func(c *serveConfig) any { return c.logLevel }, want: slog.LevelWarn,
		},
		{
			name: "start time env with manual clock",
			env:  map[string]string{"FAKEBILL_CLOCK": "manual", "FAKEBILL_START_TIME": "2027-03-04T05:06:07Z"},
			get:  func(c *serveConfig) any { return c.startTime.Format(time.RFC3339) },
			want: "2027-03-04T05:06:07Z",
		},
		{
			name: "single account from env and flags",
			args: []string{"-password", "flag-password"},
			env: map[string]string{
				"FAKEBILL_USER_NAME": "u@example.invalid", "FAKEBILL_PASSWORD": "env-password",
				"FAKEBILL_ORG_ID": "00812345678901234567", "FAKEBILL_DEV_KEY": "dev-key-0001",
			},
			get:  func(c *serveConfig) any { return c.account.UserName + " " + c.account.Password },
			want: "u@example.invalid flag-password",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseServe(tt.args, mapEnv(tt.env), io.Discard)
			if err != nil {
				t.Fatalf("parseServe(%q) error: %v", tt.args, err)
			}
			if got := tt.get(c); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func addr(c *serveConfig) any  { return c.addr }
func idle(c *serveConfig) any  { return c.idleTimeout }
func admin(c *serveConfig) any { return c.admin }

func TestParseServeErrors(t *testing.T) {
	secret := "s3cret-Password-123"
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // substring of the error
	}{
		{name: "bad duration env", env: map[string]string{"FAKEBILL_IDLE_TIMEOUT": "soon"}, want: `invalid FAKEBILL_IDLE_TIMEOUT="soon": want a duration`},
		{name: "bad bool env", env: map[string]string{"FAKEBILL_TLS": "yes please"}, want: `invalid FAKEBILL_TLS="yes please": want true or false`},
		{name: "bad int env", env: map[string]string{"FAKEBILL_MAX_SESSIONS": "many"}, want: "FAKEBILL_MAX_SESSIONS=\"many\": want an integer"},
		{name: "bad choice env", env: map[string]string{"FAKEBILL_CLOCK": "fast"}, want: "want real or manual"},
		{name: "bad time env", env: map[string]string{"FAKEBILL_START_TIME": "noon"}, want: "FAKEBILL_START_TIME"},
		{name: "bad level env", env: map[string]string{"FAKEBILL_LOG_LEVEL": "loud"}, want: "FAKEBILL_LOG_LEVEL"},
		{name: "bad choice flag", args: []string{"-refresh", "sometimes"}, want: "invalid value"},
		{name: "accounts and single account", args: []string{"-accounts", "a.json", "-user-name", "u"}, want: "exclude each other"},
		{name: "incomplete account", args: []string{"-user-name", "u", "-password", secret}, want: "-org-id, -dev-key"},
		{name: "start time without manual clock", args: []string{"-start-time", "2026-05-01T00:00:00Z"}, want: "needs -clock manual"},
		{name: "cert without key", args: []string{"-tls-cert", "c.pem"}, want: "go together"},
		{name: "write cert without tls", args: []string{"-tls-write-cert", "c.pem"}, want: "needs -tls"},
		{name: "token without admin", args: []string{"-admin=false", "-admin-token", secret}, want: "no effect"},
		{name: "zero idle", args: []string{"-idle-timeout", "0s"}, want: "-idle-timeout must be positive"},
		{name: "zero journal", args: []string{"-journal-size", "0"}, want: "-journal-size must be positive"},
		{name: "negative sessions", args: []string{"-max-sessions", "-1"}, want: "-max-sessions must be positive"},
		{name: "zero body", args: []string{"-max-body", "0"}, want: "-max-body must be positive"},
		{name: "relative public url", args: []string{"-public-url", "fakebill:8080/api/v2"}, want: "not an http or https URL"},
		{name: "stray argument", args: []string{"now"}, want: "serve takes no arguments, got 1"},
		{name: "password swallowed by a flag", args: []string{"-password", "-user-name", secret}, want: "got 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseServe(tt.args, mapEnv(tt.env), io.Discard)
			if err == nil {
				t.Fatalf("parseServe(%q, %v) = nil error, want one containing %q", tt.args, tt.env, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseServe error = %q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("parseServe error %q echoes a secret", err)
			}
		})
	}
}

func TestServeExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want int
	}{
		{name: "invalid env", env: map[string]string{"FAKEBILL_REFRESH": "often"}, want: 2},
		{name: "missing accounts file", args: []string{"-accounts", "/nonexistent/accounts.json"}, want: 2},
		{name: "missing cert file", args: []string{"-tls-cert", "/nonexistent/c.pem", "-tls-key", "/nonexistent/k.pem"}, want: 2},
		{name: "unusable address", args: []string{"-addr", "127.0.0.1:notaport"}, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			got := serve(t.Context(), tt.args, mapEnv(tt.env), &stdout, &stderr, nil)
			if got != tt.want {
				t.Errorf("serve(%q) = %d, want %d; stderr:\n%s", tt.args, got, tt.want, stderr.String())
			}
			if stdout.String() != "" {
				t.Errorf("stdout = %q, want nothing from a server that never listened", stdout.String())
			}
		})
	}
}

func TestDialAddr(t *testing.T) {
	tests := []struct {
		flag   string // -addr
		listen string // what the listener reports
		want   string
	}{
		{"127.0.0.1:0", "127.0.0.1:41234", "127.0.0.1:41234"},
		{":0", "[::]:41234", "127.0.0.1:41234"},
		{":8080", "[::]:8080", "127.0.0.1:8080"},
		{"0.0.0.0:8080", "0.0.0.0:8080", "127.0.0.1:8080"},
		{"[::]:8080", "[::]:8080", "[::1]:8080"},
		{"[::1]:0", "[::1]:41234", "[::1]:41234"},
		{"localhost:0", "127.0.0.1:41234", "localhost:41234"},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			c := &serveConfig{addr: tt.flag}
			if got := c.dialAddr(fakeAddr(tt.listen)); got != tt.want {
				t.Errorf("dialAddr(-addr %s, listening on %s) = %q, want %q", tt.flag, tt.listen, got, tt.want)
			}
		})
	}
}

// fakeAddr is a net.Addr that reports a fixed string.
type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }

func TestUnknownEnv(t *testing.T) {
	environ := []string{
		"PATH=/usr/bin",
		"FAKEBILL_ADDR=:8080",
		"FAKEBILL_IDLE_TIMOUT=10m", // misspelt
		"FAKEBILL_URL=http://127.0.0.1:1/api/v2",
		"FAKEBILL_DEV_KEY=k",
		"FAKEBILL_VERBOSE=1",
		"XFAKEBILL_ADDR=1",
	}
	got := unknownEnv(environ)
	want := []string{"FAKEBILL_IDLE_TIMOUT", "FAKEBILL_VERBOSE"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unknownEnv (-want +got):\n%s", diff)
	}
}

// FuzzParseServe feeds arbitrary command lines and environment values to
// the parser: it must answer with a configuration or an error, never
// panic, and never repeat the password it was given.
func FuzzParseServe(f *testing.F) {
	f.Add("-addr 127.0.0.1:0 -clock manual", "FAKEBILL_IDLE_TIMEOUT", "10m")
	f.Add("-user-name u -password", "FAKEBILL_TLS", "maybe")
	f.Add("-max-body -1 -leaks", "FAKEBILL_START_TIME", "2026-13-01")
	f.Add("serve extra", "FAKEBILL_LOG_LEVEL", "INFO+2")
	const secret = "fuzz-Secret-Password-7"
	f.Fuzz(func(t *testing.T, line, key, value string) {
		args := append(strings.Fields(line), "-password", secret)
		env := map[string]string{key: value}
		c, err := parseServe(args, mapEnv(env), io.Discard)
		if err == nil && c == nil {
			t.Fatal("parseServe returned neither a configuration nor an error")
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("error %q repeats the password", err)
		}
	})
}
