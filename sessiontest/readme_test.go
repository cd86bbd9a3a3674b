package sessiontest_test

// TestReadme is the example test of the README's "Go tests with
// sessiontest" section, run against the reference client; keep the two
// identical.

import (
	"testing"
	"time"

	"github.com/fakebill/toolkit/examples/goclient"
	"github.com/fakebill/toolkit/sessiontest"
)

func TestReadme(t *testing.T) {
	s := sessiontest.New(t, nil) // demo account; fails the test if a secret reaches a URL
	c, err := goclient.New(goclient.Config{BaseURL: s.BaseURL, HTTPClient: s.Client(),
		UserName: s.Account.UserName, Password: s.Account.Password, OrgID: s.Account.OrgID, DevKey: s.Account.DevKey})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // a call, 35 idle minutes, a call: the second must log in again and succeed
		if _, err := c.Call(t.Context(), "GetSessionInfo.json", nil); err != nil {
			t.Fatal(err)
		}
		s.Advance(35 * time.Minute)
	}
	if got := s.Logins(); got != 2 {
		t.Errorf("Logins() = %d, want 2", got)
	}
}
