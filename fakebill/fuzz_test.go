package fakebill

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzServeHTTP feeds the request parser random methods, paths, queries,
// content types and bodies: every answer must be a v2 envelope, the
// control API's JSON, or a fault's plain text, never a panic.
func FuzzServeHTTP(f *testing.F) {
	f.Add("POST", "/api/v2/Login.json", "", "application/x-www-form-urlencoded",
		"userName=alice.payables%40example.invalid&password=Pw-alpha-7f3k2m9q&orgId=008aaaaaaaaaaaaaaaa1&devKey=DEVKEY-alpha-00001")
	f.Add("POST", "/api/v2/Crud/Read/Vendor.json", "sessionId=x", "application/x-www-form-urlencoded", "devKey=d&data=%7B")
	f.Add("GET", "/_fakebill/journal", "since=1&wait=1ms", "", "")
	f.Add("POST", "/_fakebill/faults", "", "application/json", `{"match":{"path":"*"},"reply":{"status":503},"times":1}`)
	f.Add("POST", "/api/v2//List//Vendor.json", "a=1;b=2", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"devKey\"\r\n\r\nx\r\n--b--\r\n")
	f.Add("DELETE", "/api/v2/GetDocumentPages.json", "%zz", "text/plain", "\xff\xfe")

	s, _ := newTestServer(f, Options{MaxBody: 4096, JournalSize: 64})
	f.Fuzz(func(t *testing.T, method, path, query, contentType, body string) {
		if !validMethod(method) || path == "" || path[0] != '/' || strings.ContainsAny(path+query, " \t\r\n#") {
			t.Skip()
		}
		target := path
		if query != "" {
			target += "?" + query
		}
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(method + " " + target + " HTTP/1.1\r\nHost: fake.test\r\n\r\n")))
		if err != nil {
			t.Skip()
		}
		r.Body = http.NoBody
		if body != "" {
			r.Body = httptestBody(body)
			r.ContentLength = int64(len(body))
		}
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		// Long-polls, barriers and real delays all end with the request.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		defer s.ClearFaults()
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r.WithContext(ctx))

		ct := w.Header().Get("Content-Type")
		switch {
		case strings.HasPrefix(ct, "application/json"):
			if !json.Valid(w.Body.Bytes()) {
				t.Fatalf("%s %s: invalid JSON answer %q", method, target, w.Body.String())
			}
			isControl := strings.HasPrefix(r.URL.EscapedPath(), "/_fakebill")
			var env struct {
				Status *int `json:"response_status"`
			}
			json.Unmarshal(w.Body.Bytes(), &env)
			if env.Status == nil && !isControl {
				t.Fatalf("%s %s: answer is no v2 envelope: %q", method, target, w.Body.String())
			}
		case strings.HasPrefix(ct, "text/plain"), ct == "application/x-pem-file":
			// A fault's status reply, or the certificate.
		default:
			t.Fatalf("%s %s: Content-Type %q, body %q", method, target, ct, w.Body.String())
		}
	})
}

func validMethod(m string) bool {
	if m == "" || len(m) > 16 {
		return false
	}
	for i := 0; i < len(m); i++ {
		if c := m[i]; c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

func httptestBody(s string) *bodyReader { return &bodyReader{strings.NewReader(s)} }

type bodyReader struct{ *strings.Reader }

func (bodyReader) Close() error { return nil }
