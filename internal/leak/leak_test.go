package leak

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fakebill/toolkit/internal/session"
)

// Credentials in the shapes the conformance checks use.
const (
	userName = "qa-user@example.invalid"
	password = "Pw-PLACEHOLDER-1"
	devKey   = "DEVKEY-PLACEHOLDER-0001"
	spacey   = "pass word+plus&amp" // needs every kind of escaping
)

var testSecrets = []Secret{
	{"userName", userName},
	{"password", password},
	{"devKey", devKey},
	{"password", spacey},
	{"password", "short"},
}

type fixture struct {
	d     *Detector
	table *session.Table
	id    string // a live session's id
	ended string // an ended session's id
}

func newFixture(t testing.TB) fixture {
	t.Helper()
	tb, err := session.New(session.Config{IdleTimeout: 35 * time.Minute, Max: 10, Key: []byte("leak-test key of 32 bytes.......")})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	id, _, err := tb.Create(1, now)
	if err != nil {
		t.Fatal(err)
	}
	ended, _, err := tb.Create(1, now)
	if err != nil {
		t.Fatal(err)
	}
	tb.End(ended)
	minted := func(s string) bool { _, ok := tb.Minted(s); return ok }
	return fixture{New(testSecrets, minted), tb, id, ended}
}

func TestScan(t *testing.T) {
	fx := newFixture(t)
	id := fx.id
	foreign := strings.Repeat("Ab3_", 10) + "xyz" // id-shaped, not minted
	q := url.QueryEscape
	many := strings.Repeat("a=1&", 20_000)

	type req struct{ path, query, referer string }
	tests := []struct {
		name string
		req  req
		want []Finding
	}{
		// Keys, in any case and spelling, with any value.
		{"userName key", req{"/", "userName=x", ""}, []Finding{{"userName", "query", ""}}},
		{"password key empty", req{"/", "password=", ""}, []Finding{{"password", "query", ""}}},
		{"password key no equals", req{"/", "a=1&password", ""}, []Finding{{"password", "query", ""}}},
		{"devKey key", req{"/", "DEVKEY=abc", ""}, []Finding{{"devKey", "query", ""}}},
		{"dev_key key", req{"/", "dev_key=abc", ""}, []Finding{{"devKey", "query", ""}}},
		{"user-name key", req{"/", "User-Name=abc", ""}, []Finding{{"userName", "query", ""}}},
		{"sessionId key", req{"/", "sessionId=nope", ""}, []Finding{{"sessionId", "query", ""}}},
		{"session_id key", req{"/", "session_id=nope", ""}, []Finding{{"sessionId", "query", ""}}},
		{"Session-Id key", req{"/", "Session-Id=nope", ""}, []Finding{{"sessionId", "query", ""}}},
		{"sessionid[] key", req{"/", "sessionid[]=nope", ""}, []Finding{{"sessionId", "query", ""}}},
		{"sid key", req{"/", "sid=nope", ""}, []Finding{{"sessionId", "query", ""}}},
		{"SID key", req{"/", "x=1&SID=", ""}, []Finding{{"sessionId", "query", ""}}},
		{"encoded key", req{"/", "sessionI%64=nope", ""}, []Finding{{"sessionId", "query", ""}}},
		{"encoded key lower hex", req{"/", "p%61ssword=1", ""}, []Finding{{"password", "query", ""}}},
		{"double-encoded key", req{"/", "s%2569d=1", ""}, []Finding{{"sessionId", "query", ""}}},
		{"bad escape in key", req{"/", "%%pass%word%=1", ""}, []Finding{{"password", "query", ""}}},
		{"semicolon pairs", req{"/", "a=1;devKey=2", ""}, []Finding{{"devKey", "query", ""}}},
		{"past 10,000 pairs", req{"/", many + "password=x", ""}, []Finding{{"password", "query", ""}}},
		{"several keys", req{"/", "sid=1&userName=2&password=3", ""},
			[]Finding{{"password", "query", ""}, {"sessionId", "query", ""}, {"userName", "query", ""}}},

		// Values, anywhere.
		{"password under another key", req{"/", "q=" + password, ""}, []Finding{{"password", "query", ""}}},
		{"secret in a path segment", req{"/api/v2/" + devKey + "/x.json", "", ""}, []Finding{{"devKey", "path", ""}}},
		{"encoded secret in path", req{"/u/" + url.PathEscape(userName), "", ""}, []Finding{{"userName", "path", ""}}},
		{"secret in Referer query", req{"/", "", "https://app.example/cb?x=" + q(password)}, []Finding{{"password", "referer", ""}}},
		{"secret in Referer path", req{"/", "", "https://app.example/" + devKey + "/"}, []Finding{{"devKey", "referer", ""}}},
		{"query-escaped secret", req{"/", "q=" + q(spacey), ""}, []Finding{{"password", "query", ""}}},
		{"path-escaped secret in query", req{"/", "q=" + url.PathEscape(spacey), ""}, []Finding{{"password", "query", ""}}},
		{"double-encoded secret", req{"/", "q=" + q(q(spacey)), ""}, []Finding{{"password", "query", ""}}},
		{"secret after ;", req{"/", "a=1;b=" + password, ""}, []Finding{{"password", "query", ""}}},
		{"secret past 10,000 pairs", req{"/", many + "z=" + password, ""}, []Finding{{"password", "query", ""}}},
		{"secret and key", req{"/", "password=" + password, ""}, []Finding{{"password", "query", ""}}},
		{"devKey under password key", req{"/", "password=" + devKey, ""}, []Finding{{"devKey", "query", ""}, {"password", "query", ""}}},

		// Session ids.
		{"id under sessionId", req{"/", "sessionId=" + id, ""}, []Finding{{"sessionId", "query", id}}},
		{"id under another key", req{"/", "token=" + id, ""}, []Finding{{"sessionId", "query", id}}},
		{"ended id", req{"/", "x=" + fx.ended, ""}, []Finding{{"sessionId", "query", fx.ended}}},
		{"id embedded in a longer token", req{"/", "t=Bearer_" + id + "-tail", ""}, []Finding{{"sessionId", "query", id}}},
		{"id in path", req{"/s/" + id + "/x.json", "", ""}, []Finding{{"sessionId", "path", id}}},
		{"id in Referer", req{"/", "", "https://app.example/?s=" + id}, []Finding{{"sessionId", "referer", id}}},
		{"key in Referer query", req{"/", "", "https://app.example/cb?Session_Id=abc#top"}, []Finding{{"sessionId", "referer", ""}}},
		{"key in Referer fragment only", req{"/", "", "https://app.example/cb#password=x"}, nil},
		{"id partly encoded", req{"/", "x=%" + hexOf(id[0]) + id[1:], ""}, []Finding{{"sessionId", "query", id}}},
		{"id double-encoded", req{"/", "x=%25" + hexOf(id[0]) + id[1:], ""}, []Finding{{"sessionId", "query", id}}},
		{"two ids", req{"/", "a=" + id + "&b=" + fx.ended, ""},
			sortedIDs("query", id, fx.ended)},
		{"id everywhere", req{"/" + id, "sid=" + id, "http://x/" + id},
			[]Finding{{"sessionId", "path", id}, {"sessionId", "query", id}, {"sessionId", "referer", id}}},

		// No false positives.
		{"empty", req{"", "", ""}, nil},
		{"plain call", req{"/api/v2/Crud/Read/Vendor.json", "", ""}, nil},
		{"page", req{"/api/v2/List/Vendor.json", "page=2", ""}, nil},
		{"sort", req{"/", "sort=asc", ""}, nil},
		{"sessionIdx", req{"/", "sessionIdx=1", ""}, nil},
		{"sidebar", req{"/", "sidebar=1&consider=2&passwords=3", ""}, nil},
		{"key in a value", req{"/", "q=password&r=sid", ""}, nil},
		{"foreign token", req{"/", "token=" + foreign, ""}, nil},
		{"short secret", req{"/", "q=short", ""}, nil},
		{"secret prefix", req{"/", "q=" + password[:len(password)-1], ""}, nil},
		{"hostile escapes", req{"/%%%", "%=%&%%%25&=;;&", "%"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fx.d.Scan(tt.req.path, tt.req.query, tt.req.referer)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Scan(%.60q, %.60q, %.60q) (-want +got):\n%s", tt.req.path, tt.req.query, tt.req.referer, diff)
			}
		})
	}
}

func TestScanEveryReferer(t *testing.T) {
	fx := newFixture(t)
	tests := []struct {
		name     string
		referers []string
		want     []Finding
	}{
		{"none", nil, nil},
		{"clean then id", []string{"http://a/", "http://a/?x=" + fx.id}, []Finding{{"sessionId", "referer", fx.id}}},
		{"clean then key", []string{"http://a/", "http://a/?sid=1"}, []Finding{{"sessionId", "referer", ""}}},
		{"key then id, reported once", []string{"http://a/?sid=1", "http://a/" + fx.id}, []Finding{{"sessionId", "referer", fx.id}}},
		{"two secrets", []string{"http://a/" + devKey, "http://b/?q=" + password},
			[]Finding{{"devKey", "referer", ""}, {"password", "referer", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fx.d.Scan("/", "", tt.referers...)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Scan with Referers %.60q (-want +got):\n%s", tt.referers, diff)
			}
		})
	}
}

func TestScanUserinfo(t *testing.T) {
	fx := newFixture(t)
	tests := []struct {
		name string
		u    *url.Userinfo
		want []Finding
	}{
		{"none", nil, nil},
		{"empty", url.User(""), nil},
		{"user and password", url.UserPassword(userName, password),
			[]Finding{{"password", "userinfo", ""}, {"userName", "userinfo", ""}}},
		{"any user", url.User("someone"), []Finding{{"userName", "userinfo", ""}}},
		{"empty password", url.UserPassword("", ""), []Finding{{"password", "userinfo", ""}}},
		{"devKey as password", url.UserPassword("x", devKey),
			[]Finding{{"devKey", "userinfo", ""}, {"password", "userinfo", ""}, {"userName", "userinfo", ""}}},
		{"session id as user", url.User(fx.id),
			[]Finding{{"sessionId", "userinfo", fx.id}, {"userName", "userinfo", ""}}},
		{"encoded secret", url.User(url.QueryEscape(password)),
			[]Finding{{"password", "userinfo", ""}, {"userName", "userinfo", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fx.d.ScanUserinfo(tt.u)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ScanUserinfo (-want +got):\n%s", diff)
			}
		})
	}
}

func hexOf(c byte) string { return fmt.Sprintf("%02X", c) }

func sortedIDs(where string, ids ...string) []Finding {
	var fs []Finding
	for _, id := range ids {
		fs = append(fs, Finding{"sessionId", where, id})
	}
	if len(fs) == 2 && fs[0].SessionID > fs[1].SessionID {
		fs[0], fs[1] = fs[1], fs[0]
	}
	return fs
}

func TestScanWithoutMinted(t *testing.T) {
	d := New(testSecrets, nil)
	got := d.Scan("/x", "sid=abc&q="+password, "")
	want := []Finding{{"password", "query", ""}, {"sessionId", "query", ""}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Scan (-want +got):\n%s", diff)
	}
}

func TestRedact(t *testing.T) {
	fx := newFixture(t)
	q := url.QueryEscape
	tests := []struct {
		name, in, want string
	}{
		{"nothing", "GET /api/v2/Login.json 200", "GET /api/v2/Login.json 200"},
		{"raw", "login " + userName + " failed", "login [REDACTED:userName] failed"},
		{"url", "/x?password=" + q(spacey) + "&devKey=" + devKey,
			"/x?password=[REDACTED:password]&devKey=[REDACTED:devKey]"},
		{"double-encoded", "q=" + q(q(spacey)) + ".", "q=[REDACTED:password]."},
		{"lower-case hex", "u=qa-user%40example.invalid", "u=[REDACTED:userName]"},
		{"session id", "sessionId=" + fx.id + ";", "sessionId=[REDACTED:sessionId];"},
		{"ended id glued", "x" + fx.ended + "y", "x[REDACTED:sessionId]y"},
		{"twice", password + password, "[REDACTED:password][REDACTED:password]"},
		{"short secret kept", "short", "short"},
		{"prefix kept", password[:5], password[:5]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fx.d.Redact(tt.in); got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRedactOverlap(t *testing.T) {
	d := New([]Secret{{"password", "abcdefgh"}, {"devKey", "efghijkl"}, {"userName", "aaaaaaaa"}}, nil)
	tests := []struct{ in, want string }{
		{"xabcdefghijklx", "x[REDACTED:password]x"},
		{"aaaaaaaaaaaa", "[REDACTED:userName]"},
		{"abcdefgabcdefgh", "abcdefg[REDACTED:password]"},
	}
	for _, tt := range tests {
		if got := d.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A secret that a marker rebuilds is cut out rather than left in.
func TestRedactSecretInMarker(t *testing.T) {
	for _, secret := range []string{"REDACTED", "[REDACTED:password]", "ED:password]x"} {
		d := New([]Secret{{"password", secret}}, nil)
		in := "a " + secret + "x " + secret
		got := d.Redact(in)
		if strings.Contains(got, secret) {
			t.Errorf("secret %q: Redact(%q) = %q, still holds it", secret, in, got)
		}
	}
}

func TestShortSecrets(t *testing.T) {
	got := ShortSecrets(testSecrets)
	want := []Secret{{"password", "short"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ShortSecrets (-want +got):\n%s", diff)
	}
	// Eight characters, not bytes: "pässwörd" is 8 runes.
	if got := ShortSecrets([]Secret{{"password", "pässwörd"}, {"password", "päss"}, {"devKey", ""}}); len(got) != 2 {
		t.Errorf("ShortSecrets found %d short secrets, want 2", len(got))
	}
}

func TestKeyField(t *testing.T) {
	tests := []struct{ key, want string }{
		{"username", "userName"}, {"USERNAME", "userName"}, {"user_name", "userName"},
		{"password", "password"}, {"pass word", "password"}, {"pass+word", "password"},
		{"devkey", "devKey"}, {"dev.key", "devKey"},
		{"sessionid", "sessionId"}, {"sessionId[]", "sessionId"}, {"SESSION_ID", "sessionId"},
		{"sid", "sessionId"}, {"s_i_d", "sessionId"}, {"sid1", "sessionId"}, {"s1d", ""}, {"%73id", "sessionId"}, {"%2573id", "sessionId"},
		{"%252573id", ""}, // three levels: beyond what a server decodes
		{"", ""}, {"sort", ""}, {"sessionIdx", ""}, {"sessions", ""}, {"passwords", ""}, {"userNames", ""},
		{"sidx", ""}, {"sd", ""}, {"%", ""}, {"%7", ""}, {"sessionidsessionid", ""},
		{"\xffsid", "sessionId"}, {"ſid", ""}, // only ASCII letters count
	}
	for _, tt := range tests {
		if got, _ := keyField(tt.key, nil); got != tt.want {
			t.Errorf("keyField(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestNoSecretInFindings(t *testing.T) {
	fx := newFixture(t)
	got := fx.d.Scan("/"+password, "devKey="+devKey+"&u="+userName, "http://x/?p="+password)
	for _, f := range got {
		for _, s := range testSecrets {
			if strings.Contains(f.Field+f.Where+f.SessionID, s.Value) && len(s.Value) >= MinLen {
				t.Errorf("finding %+v holds the %s", f, s.Field)
			}
		}
	}
}
