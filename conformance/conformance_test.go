package conformance_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/fakebill/toolkit/conformance"
	"github.com/google/go-cmp/cmp"
)

func TestEvaluateRefusesWhatItCannotJudge(t *testing.T) {
	good := referenceSubject()
	v3 := good
	v3.API = "v3"
	odd := good
	odd.API = "soap"
	noNew := good
	noNew.New = nil
	tests := []struct {
		name    string
		subject conformance.Subject
		opts    *conformance.Options
		want    string
	}{
		{"v3 subject", v3, nil, "v3"},
		{"unknown API", odd, nil, `unknown API "soap"`},
		{"no constructor", noNew, nil, "Subject.New is nil"},
		{"unknown id in Only", good, &conformance.Options{Only: []string{"no-such-check"}}, `unknown check "no-such-check"`},
		{"unknown id in Skip", good, &conformance.Options{Skip: []string{"login-twice"}}, `unknown check "login-twice"`},
		{"passive id in Only", good, &conformance.Options{Only: []string{"audit-login-storm"}}, "passive"},
		{"everything skipped", good, &conformance.Options{Only: []string{"login-once"}, Skip: []string{"login-once"}}, "no check selected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := conformance.Evaluate(context.Background(), tt.subject, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Evaluate error = %v, want one containing %q", err, tt.want)
			}
			if res != nil {
				t.Errorf("Evaluate returned %d results with its error, want none", len(res))
			}
			if err := conformance.TestClient(tt.subject, tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("TestClient error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestEvaluateSelectsInCatalogOrder(t *testing.T) {
	res, err := conformance.Evaluate(context.Background(), referenceSubject(), &conformance.Options{
		Only: []string{"logout-on-close", "login-once", "keep-alive"},
		Skip: []string{"keep-alive"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res {
		got = append(got, r.ID+":"+string(r.Status))
	}
	want := []string{"login-once:pass", "logout-on-close:pass"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

func TestCapabilitiesSkipNeverPass(t *testing.T) {
	s := referenceSubject()
	s.Concurrent = false
	s.NoClose = true
	res, err := conformance.Evaluate(context.Background(), s, &conformance.Options{
		Only: []string{"single-login-on-concurrent-expiry", "logout-on-close"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != conformance.Skip || len(r.Details) == 0 {
			t.Errorf("%s: status %s with details %q, want skip with a reason", r.ID, r.Status, r.Details)
		}
	}
}

func TestEvaluateAfterCancelFailsTheRest(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := conformance.Evaluate(ctx, referenceSubject(), &conformance.Options{Only: []string{"login-once", "keep-alive"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != conformance.Fail {
			t.Errorf("%s: status %s after the context ended, want fail", r.ID, r.Status)
		}
	}
}

// TestClient's failures are *Failure values that carry the check id and
// unwrap to the level's sentinel.
func TestTestClientFailures(t *testing.T) {
	err := conformance.TestClient(zooSubject(noLogout, false), nil)
	if err == nil {
		t.Fatal("TestClient = nil for a client that never logs out, want a failure")
	}
	var f *conformance.Failure
	if !errors.As(err, &f) {
		t.Fatalf("TestClient error %T does not unwrap to *Failure", err)
	}
	if f.ID != "logout-on-close" || f.Level != conformance.SHOULD {
		t.Errorf("Failure = {ID: %q, Level: %q}, want logout-on-close, SHOULD", f.ID, f.Level)
	}
	if !errors.Is(err, conformance.ErrSHOULD) || errors.Is(err, conformance.ErrMUST) {
		t.Errorf("errors.Is(SHOULD) = %v, errors.Is(MUST) = %v; want true, false", errors.Is(err, conformance.ErrSHOULD), errors.Is(err, conformance.ErrMUST))
	}
	if !strings.Contains(err.Error(), "logout-on-close (SHOULD)") || !strings.Contains(err.Error(), "Logout") {
		t.Errorf("TestClient error text lacks the id or what happened:\n%v", err)
	}

	if err := conformance.TestClient(referenceSubject(), nil); err != nil {
		t.Errorf("TestClient(reference client) = %v, want nil", err)
	}
}

// No detail of any zoo client's failures shows a secret, however the
// client spilled it.
func TestDetailsAreRedacted(t *testing.T) {
	for _, f := range []fault{logPasswordPrefix, logRequestURL, sessionInError, secretsInQuery, loginInQuery, credentialsEveryCall} {
		var mu sync.Mutex
		var envs []conformance.Env
		s := zooSubject(f, false)
		inner := s.New
		s.New = func(e conformance.Env) (conformance.Client, error) {
			mu.Lock()
			envs = append(envs, e)
			mu.Unlock()
			return inner(e)
		}
		res, err := conformance.Evaluate(context.Background(), s, zooOptions)
		if err != nil {
			t.Fatal(err)
		}
		var all []string
		for _, r := range res {
			all = append(all, r.Details...)
		}
		text := strings.Join(all, "\n")
		for _, e := range envs {
			for _, v := range []string{e.UserName, e.Password, e.DevKey, e.Password[:5], e.DevKey[:5], e.UserName[:5]} {
				if strings.Contains(text, v) {
					t.Errorf("fault %d: details show a secret or its prefix:\n%s", f, text)
				}
			}
		}
		if f == sessionInError && !strings.Contains(text, "[REDACTED:sessionId]") {
			t.Errorf("details for a client that puts session ids in its errors show no redacted session id:\n%s", text)
		}
	}
}

// problemClient is the reference client plus problems it saw outside
// its calls, as an adapter reports a crash or a refused proxy request.
type problemClient struct {
	conformance.Client
	problems []string
}

func (c problemClient) Problems() []string { return c.problems }

// silentClient answers every call itself and never reaches the fake.
type silentClient struct{}

func (silentClient) Call(context.Context, string, any) (json.RawMessage, error) {
	return json.RawMessage(`{}`), nil
}
func (silentClient) Close() error { return nil }

func TestProblemsAndPanicsFailTheCheck(t *testing.T) {
	ref := referenceSubject()
	tests := []struct {
		name string
		new  func(env conformance.Env) (conformance.Client, error)
		want string
	}{
		{"problem reported", func(env conformance.Env) (conformance.Client, error) {
			c, err := ref.New(env)
			return problemClient{c, []string{"tried to reach 203.0.113.7:443"}}, err
		}, "the client failed outside its calls: tried to reach 203.0.113.7:443"},
		{"silent client", func(conformance.Env) (conformance.Client, error) { return silentClient{}, nil }, "no request reached the fake"},
		{"New panics", func(conformance.Env) (conformance.Client, error) { panic("boom") }, "setup: Subject.New: panicked: boom"},
		{"New fails", func(conformance.Env) (conformance.Client, error) { return nil, errors.New("no config") }, "setup: Subject.New: no config"},
		{"New returns nil", func(conformance.Env) (conformance.Client, error) { return nil, nil }, "nil Client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ref
			s.New = tt.new
			res, err := conformance.Evaluate(context.Background(), s, &conformance.Options{Only: []string{"login-once"}})
			if err != nil {
				t.Fatal(err)
			}
			if got := res[0]; got.Status != conformance.Fail || !strings.Contains(strings.Join(got.Details, "\n"), tt.want) {
				t.Errorf("result = %s %q, want fail with %q", got.Status, got.Details, tt.want)
			}
		})
	}
}
