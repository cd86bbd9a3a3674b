package conformance

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

type codedErr struct{ code, kind string }

func (e codedErr) Error() string { return "coded" }
func (e codedErr) Code() string  { return e.code }
func (e codedErr) Kind() string  { return e.kind }

type kindOnly struct{ kind string }

func (e kindOnly) Error() string { return "no code here" }
func (e kindOnly) Kind() string  { return e.kind }

func TestClassify(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode string
		wantKind string
	}{
		{"nil", nil, "", ""},
		{"code method", codedErr{code: "BDC_1101"}, "BDC_1101", kindAuth},
		{"code in text", errors.New("call failed: BDC_1109: Session is invalid."), "BDC_1109", kindSession},
		{"wrapped code method", fmt.Errorf("outer: %w", codedErr{code: "BDC_1322"}), "BDC_1322", kindRateLimit},
		{"code beats kind", codedErr{code: "BDC_1109", kind: "auth"}, "BDC_1109", kindSession},
		{"empty code method falls back to text", fmt.Errorf("BDC_1144 %w", codedErr{}), "BDC_1144", kindRateLimit},
		{"kind without code", kindOnly{"transport"}, "", kindTransport},
		{"neither", errors.New("login failed"), "", kindOther},
		{"other BDC code", errors.New("BDC_1129 bad amount"), "BDC_1129", kindAPI},
		{"dev key codes are auth", errors.New("BDC_1178"), "BDC_1178", kindAuth},
		{"five digits is not a code", errors.New("BDC_11011"), "BDC_1101", kindAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errorCode(tt.err); got != tt.wantCode {
				t.Errorf("errorCode = %q, want %q", got, tt.wantCode)
			}
			if got := errorKind(tt.err); got != tt.wantKind {
				t.Errorf("errorKind = %q, want %q", got, tt.wantKind)
			}
		})
	}
}

func TestSecretFindAndRedact(t *testing.T) {
	ss := secretSet{{"password", "Pw9x&q=Z+abcdefgh"}, {"sessionId", "S3ss10nIdValue"}}
	pwQuery := url.QueryEscape("Pw9x&q=Z+abcdefgh")
	tests := []struct {
		name      string
		text      string
		wantFound []string
		wantText  string
	}{
		{"clean", "logged in as session#1", nil, "logged in as session#1"},
		{"whole", "pw=Pw9x&q=Z+abcdefgh.", []string{"password"}, "pw=[REDACTED:password]."},
		{"prefix of five", "pw starts Pw9x&...", []string{"password"}, "pw starts [REDACTED:password]..."},
		{"four is not enough", "Pw9x only", nil, "Pw9x only"},
		{"query encoded", "url?password=" + pwQuery, []string{"password"}, "url?password=[REDACTED:password]"},
		{"two secrets", "S3ss1 and Pw9x&q", []string{"password", "sessionId"}, "[REDACTED:sessionId] and [REDACTED:password]"},
		{"repeated", "S3ss10nIdValueS3ss10nId", []string{"sessionId"}, "[REDACTED:sessionId][REDACTED:sessionId]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ss.find(tt.text)
			if strings.Join(got, ",") != strings.Join(tt.wantFound, ",") {
				t.Errorf("find = %q, want %q", got, tt.wantFound)
			}
			if got := ss.redact(tt.text); got != tt.wantText {
				t.Errorf("redact = %q, want %q", got, tt.wantText)
			}
		})
	}
}

func TestNewCredentialsShapes(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		c := newCredentials()
		if !strings.HasSuffix(c.userName, "@example.com") || len(c.userName) != 25 {
			t.Errorf("userName = %q, want <13 random>@example.com", c.userName)
		}
		if len(c.password) < 16 {
			t.Errorf("password has %d characters, want at least 16", len(c.password))
		}
		if len(c.orgID) != 20 || !strings.HasPrefix(c.orgID, "008") {
			t.Errorf("orgID = %q, want 008 and 17 more characters", c.orgID)
		}
		for _, v := range []string{c.userName, c.password, c.orgID, c.devKey} {
			if seen[v] {
				t.Errorf("%q came up twice in 50 draws", v)
			}
			seen[v] = true
		}
	}
}
