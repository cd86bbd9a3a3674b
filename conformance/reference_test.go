package conformance_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/fakebill/toolkit/conformance"
	"github.com/fakebill/toolkit/examples/goclient"
)

// referenceSubject is the Go reference client as a subject.
func referenceSubject() conformance.Subject {
	return conformance.Subject{
		Name:       "goclient",
		API:        "v2",
		Concurrent: true,
		New: func(env conformance.Env) (conformance.Client, error) {
			return goclient.New(goclient.Config{
				BaseURL: env.BaseURL, UserName: env.UserName, Password: env.Password,
				OrgID: env.OrgID, DevKey: env.DevKey, HTTPClient: env.HTTPClient, Log: env.Log,
			})
		},
	}
}

// The reference client must pass every check, MUST and SHOULD alike.
func TestReferenceClientPassesEveryCheck(t *testing.T) {
	results, err := conformance.Evaluate(context.Background(), referenceSubject(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Status != conformance.Pass {
			b, _ := json.MarshalIndent(r, "", "  ")
			t.Errorf("%s: status %s, want pass\n%s", r.ID, r.Status, b)
		}
	}
}
