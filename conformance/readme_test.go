package conformance_test

// This file is the example of README.md's "Conformance from Go" section;
// keep the two in step.

import (
	"testing"

	"github.com/fakebill/toolkit/conformance"
	"github.com/fakebill/toolkit/examples/goclient"
)

func TestConformance(t *testing.T) {
	subject := conformance.Subject{
		Name:       "goclient",
		API:        "v2",
		Concurrent: true, // Call is safe from several goroutines
		New: func(env conformance.Env) (conformance.Client, error) {
			return goclient.New(goclient.Config{
				BaseURL:    env.BaseURL,    // a fresh fake on loopback per check
				HTTPClient: env.HTTPClient, // reaches it, and nothing else
				UserName:   env.UserName,   // fresh random credentials per check
				Password:   env.Password,
				OrgID:      env.OrgID,
				DevKey:     env.DevKey,
				Log:        env.Log, // scanned for secrets
			})
		},
	}
	conformance.Run(t, subject, nil)
}
