package leak

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

var validFields = []string{"userName", "password", "devKey", "sessionId"}

// FuzzScan checks that Scan never panics, reports only well-formed
// findings, and always finds a secret planted in the query.
func FuzzScan(f *testing.F) {
	fx := newFixture(f)
	f.Add("/api/v2/Login.json", "", "")
	f.Add("/api/v2/List/Vendor.json", "page=2&sort=asc", "https://app.example/list")
	f.Add("/", "sessionI%64=x;sid=&password", "")
	f.Add("/"+fx.id, "x=%25"+fx.id, "http://h/"+fx.ended)
	f.Fuzz(func(t *testing.T, path, query, referer string) {
		for _, fd := range fx.d.Scan(path, query, referer) {
			if _, ok := whereRank[fd.Where]; !ok || !slices.Contains(validFields, fd.Field) {
				t.Fatalf("malformed finding %+v", fd)
			}
			if fd.SessionID != "" {
				if _, ok := fx.table.Minted(fd.SessionID); !ok || fd.Field != "sessionId" {
					t.Fatalf("finding %+v names an id the table did not mint", fd)
				}
			}
		}
		planted := []struct {
			query string
			want  Finding
		}{
			{query + "&x=" + url.QueryEscape(password), Finding{"password", "query", ""}},
			{query + ";x=" + url.QueryEscape(url.QueryEscape(spacey)), Finding{"password", "query", ""}},
			{query + "&dev_Key", Finding{"devKey", "query", ""}},
			{query + "&z=" + fx.id, Finding{"sessionId", "query", fx.id}},
		}
		for _, p := range planted {
			if got := fx.d.Scan(path, p.query, referer); !slices.Contains(got, p.want) {
				t.Fatalf("Scan(%q, %q, %q) = %+v, want it to hold %+v", path, p.query, referer, got, p.want)
			}
		}
	})
}

// FuzzRedact checks that Redact never panics and that its output never
// holds a secret, whether one of the fixture's or one made up.
func FuzzRedact(f *testing.F) {
	fx := newFixture(f)
	f.Add("login qa-user@example.invalid failed", "REDACTED")
	f.Add("/x?password=pass+word%2Bplus%26amp", "abcdefgh")
	f.Add("sid="+fx.id+"&e="+fx.ended, "[REDACTED:password]")
	f.Add("%25%25%2541", "%%%%%%%%")
	f.Fuzz(func(t *testing.T, s, secret string) {
		out := fx.d.Redact(s)
		for _, sec := range testSecrets {
			if len(sec.Value) >= MinLen && strings.Contains(out, sec.Value) {
				t.Fatalf("Redact(%q) = %q, holds the %s", s, out, sec.Field)
			}
		}
		for _, id := range []string{fx.id, fx.ended} {
			if strings.Contains(out, id) {
				t.Fatalf("Redact(%q) = %q, holds a session id", s, out)
			}
		}
		if utf8.RuneCountInString(secret) < MinLen || len(s) > 4096 {
			return
		}
		d := New([]Secret{{"password", secret}}, nil)
		in := s + secret + url.QueryEscape(secret) + s
		if out := d.Redact(in); strings.Contains(out, secret) {
			t.Fatalf("secret %q: Redact(%q) = %q, holds it", secret, in, out)
		}
	})
}
