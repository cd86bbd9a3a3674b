package fakebill

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFixtures(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	sid := login(t, s, acctA)
	var seen *Call
	s.HandleFunc("Crud/Create/Bill.json", func(c *Call) (any, error) {
		seen = c
		return map[string]any{"id": "00n1", "echo": c.Data}, nil
	})
	s.HandleFunc("/Crud/Delete/Bill", func(c *Call) (any, error) {
		return nil, &Error{Code: CodeInvalidParameter, Message: "Bill is paid."}
	})
	s.HandleFunc("Crud/Read/Bill.json", func(c *Call) (any, error) { return nil, errors.New("boom") })
	s.HandleFunc("Crud/Undelete/Bill.json", func(c *Call) (any, error) { return nil, &Error{Code: CodeOrgLocked} })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.SetFixture("Crud/Read/Vendor.json", map[string]string{"id": "0091", "name": "Acme"}))
	must(s.SetFixture("List/Vendor.json", []map[string]string{{"id": "0091"}}))
	must(s.SetFixture("Crud/Update/Vendor.json", json.RawMessage(`{"response_status":1,"response_message":"Error","response_data":{"error_code":"BDC_1144","error_message":"Max number of allowed requests per hour reached: 20000."}}`)))

	tests := []struct {
		path     string
		data     string
		wantCode string
		wantMsg  string
		wantData string
	}{
		{"Crud/Read/Vendor.json", "", "", "", `{"id":"0091","name":"Acme"}`},
		{"List/Vendor.json", "", "", "", `[{"id":"0091"}]`},
		{"Crud/Update/Vendor.json", "", CodeHourlyLimit, "Max number of allowed requests per hour reached: 20000.", ""},
		{"Crud/Create/Bill.json", `{"obj":{"amount":1}}`, "", "", `{"echo":{"obj":{"amount":1}},"id":"00n1"}`},
		{"Crud/Delete/Bill.json", "", CodeInvalidParameter, "Bill is paid.", ""},
		{"Crud/Undelete/Bill.json", "", CodeOrgLocked, "Organization is locked out.", ""},
		{"Crud/Read/Bill.json", "", CodeSystemError, "System error occurred.", ""},
		{"Crud/Read/Other.json", "", "", "", `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			ans := post(t, s, tt.path, callForm(acctA, sid, tt.data))
			if got := ans.code(); got != tt.wantCode {
				t.Fatalf("code = %q, want %q (%s)", got, tt.wantCode, ans.Body)
			}
			if tt.wantMsg != "" && ans.message() != tt.wantMsg {
				t.Errorf("message = %q, want %q", ans.message(), tt.wantMsg)
			}
			if tt.wantData != "" && string(ans.Env.Data) != tt.wantData {
				t.Errorf("response_data = %s, want %s", ans.Env.Data, tt.wantData)
			}
			if e := lastEntry(t, s); e.Code != tt.wantCode {
				t.Errorf("journaled code = %q, want %q", e.Code, tt.wantCode)
			}
		})
	}

	want := &Call{Op: "Crud/Create/Bill", Data: json.RawMessage(`{"obj":{"amount":1}}`), Form: map[string]string{},
		Account: s.Accounts()[0], Session: "session#1"}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("Call seen by the fixture (-want +got):\n%s", diff)
	}

	wantPaths := []string{"Crud/Create/Bill.json", "Crud/Delete/Bill.json", "Crud/Read/Bill.json", "Crud/Read/Vendor.json",
		"Crud/Undelete/Bill.json", "Crud/Update/Vendor.json", "List/Vendor.json"}
	if diff := cmp.Diff(wantPaths, s.Fixtures()); diff != "" {
		t.Errorf("Fixtures (-want +got):\n%s", diff)
	}
	s.ClearFixtures()
	if got := post(t, s, "Crud/Read/Vendor.json", callForm(acctA, sid, "")); string(got.Env.Data) != "{}" {
		t.Errorf("after ClearFixtures: %s, want {}", got.Env.Data)
	}
}

func TestLoadFixtures(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Crud/Read/Vendor.json", `{"id":"0091"}`)
	write("List/Bill.json", "[\n  {\"id\": \"00n1\"}\n]\n")
	write("GetThing.json", `{"response_status":1,"response_message":"Error","response_data":{"error_code":"BDC_1322","error_message":"x"}}`)
	write("README.txt", "not a fixture")

	s, _ := newTestServer(t, Options{})
	if err := s.LoadFixtures(dir); err != nil {
		t.Fatal(err)
	}
	sid := login(t, s, acctA)
	tests := []struct {
		path string
		want string
	}{
		{"Crud/Read/Vendor.json", `{"response_status":0,"response_message":"Success","response_data":{"id":"0091"}}`},
		{"List/Bill.json", `{"response_status":0,"response_message":"Success","response_data":[{"id":"00n1"}]}`},
		{"GetThing.json", `{"response_status":1,"response_message":"Error","response_data":{"error_code":"BDC_1322","error_message":"x"}}`},
	}
	for _, tt := range tests {
		if got := post(t, s, tt.path, callForm(acctA, sid, "")).Body; got != tt.want {
			t.Errorf("%s answered %s, want %s", tt.path, got, tt.want)
		}
	}

	write("Broken.json", `{"id":`)
	s2, _ := newTestServer(t, Options{})
	err := s2.LoadFixtures(dir)
	if err == nil || !strings.Contains(err.Error(), "Broken.json") {
		t.Errorf("LoadFixtures with a broken file: %v, want an error naming it", err)
	}
	if n := len(s2.Fixtures()); n != 0 {
		t.Errorf("a failed load left %d fixtures, want none", n)
	}
	if err := s2.LoadFixtures(filepath.Join(dir, "missing")); err == nil {
		t.Errorf("LoadFixtures of a missing directory succeeded")
	}
}

func TestSetFixtureRefuses(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	if err := s.SetFixture("", "x"); err == nil {
		t.Errorf("SetFixture with an empty path succeeded")
	}
	if err := s.SetFixture("A.json", func() {}); err == nil {
		t.Errorf("SetFixture with an unencodable value succeeded")
	}
}

func TestFixturePanic(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	sid := login(t, s, acctA)
	s.HandleFunc("Crud/Read/Vendor.json", func(c *Call) (any, error) { panic("fixture bug") })
	if got := post(t, s, "Crud/Read/Vendor.json", callForm(acctA, sid, "")).code(); got != CodeSystemError {
		t.Errorf("panicking fixture: %q, want %s", got, CodeSystemError)
	}
	if e := lastEntry(t, s); e.Note != "fixture function panicked" {
		t.Errorf("note = %q", e.Note)
	}
}

func TestResetKeepsLoadedFixtures(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Loaded.json"), []byte(`{"from":"dir"}`), 0o644)
	s, _ := newTestServer(t, Options{})
	if err := s.LoadFixtures(dir); err != nil {
		t.Fatal(err)
	}
	s.SetFixture("Added.json", 1)
	s.SetFixture("Loaded.json", 2)
	s.Reset()
	if diff := cmp.Diff([]string{"Loaded.json"}, s.Fixtures()); diff != "" {
		t.Errorf("fixtures after Reset (-want +got):\n%s", diff)
	}
	sid := login(t, s, acctA)
	if got := string(post(t, s, "Loaded.json", callForm(acctA, sid, "")).Env.Data); got != `{"from":"dir"}` {
		t.Errorf("Loaded.json after Reset answers %s, want the file's contents", got)
	}
	s.ClearFixtures()
	if n := len(s.Fixtures()); n != 0 {
		t.Errorf("ClearFixtures left %d fixtures", n)
	}
}
