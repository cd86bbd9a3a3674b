// Package adapter runs a Bill.com client written in any language as a
// conformance subject, through the adapter protocol of docs/ADAPTER.md:
// JSON lines on the child's stdin and stdout, its logs on stderr.
package adapter

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/fakebill/toolkit/conformance"
	"github.com/fakebill/toolkit/internal/report"
)

// Protocol is the adapter protocol version this package speaks.
const Protocol = 1

// MaxLine is the longest stdout line an adapter may write, newline excluded.
const MaxLine = 1 << 20

// DefaultTimeout is how long an answer may take when Adapter.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// CloseGrace is how long an adapter has to exit after close or EOF.
const CloseGrace = 5 * time.Second

// ErrSetup marks errors that mean nothing can be judged: the adapter could
// not be started or did not complete the hello handshake.
var ErrSetup = errors.New("adapter setup failed")

// Capabilities is what an adapter announces in its answer to hello.
type Capabilities struct {
	Protocol   int    `json:"protocol"`
	API        string `json:"api"`
	Concurrent bool   `json:"concurrent"`
	Close      bool   `json:"close"`
}

// Adapter is an adapter program and how to run it. Set its fields before
// the first Probe or Start and do not change them after.
type Adapter struct {
	// Args is the program and its arguments; Args[0] is looked up in PATH.
	Args []string
	// Timeout bounds the wait for each answer; 0 means DefaultTimeout.
	Timeout time.Duration
	// Environ is the environment PATH, HOME and the locale are copied
	// from; nil means os.Environ().
	Environ []string

	closeGrace time.Duration // CloseGrace; shortened by tests

	mu      sync.Mutex
	secrets []report.Secret
}

func (a *Adapter) grace() time.Duration {
	if a.closeGrace > 0 {
		return a.closeGrace
	}
	return CloseGrace
}

func (a *Adapter) timeout() time.Duration {
	if a.Timeout > 0 {
		return a.Timeout
	}
	return DefaultTimeout
}

// Secrets returns the credentials of every environment the adapter was
// started with, for redacting reports.
func (a *Adapter) Secrets() []report.Secret {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]report.Secret(nil), a.secrets...)
}

func (a *Adapter) remember(env conformance.Env) []report.Secret {
	s := envSecrets(env)
	a.mu.Lock()
	a.secrets = append(a.secrets, s...)
	a.mu.Unlock()
	return s
}

func envSecrets(env conformance.Env) []report.Secret {
	return []report.Secret{
		{Field: "userName", Value: env.UserName},
		{Field: "password", Value: env.Password},
		{Field: "devKey", Value: env.DevKey},
	}
}

// Probe starts the adapter against env, reads its answer to hello, and
// closes it. It does not judge the API the adapter names: a caller that
// needs "v2" checks Capabilities.API. Only a failed start or handshake is
// an error (wrapping [ErrSetup]); what goes wrong after it, such as a bad
// exit, recurs in every check and is judged there.
func (a *Adapter) Probe(ctx context.Context, env conformance.Env) (Capabilities, error) {
	p, err := a.start(ctx, env)
	if err != nil {
		return Capabilities{}, err
	}
	p.Close()
	return p.caps, nil
}

// Start starts the adapter against env and completes the hello
// handshake. The adapter must speak protocol 1 and the v2 API. The
// process is killed when ctx is done; the caller must Close it otherwise.
func (a *Adapter) Start(ctx context.Context, env conformance.Env) (*Process, error) {
	p, err := a.start(ctx, env)
	if err != nil {
		return nil, err
	}
	if p.caps.API != "v2" {
		p.Close()
		return nil, fmt.Errorf("%w: the adapter speaks API %q; this release checks v2 clients only", ErrSetup, p.caps.API)
	}
	return p, nil
}

// Subject returns a conformance subject that starts a fresh adapter
// process for every check, with the capabilities caps (from [Probe]).
// Processes are killed when ctx is done.
func (a *Adapter) Subject(ctx context.Context, caps Capabilities) conformance.Subject {
	return conformance.Subject{
		Name:       strings.Join(a.Args, " "),
		API:        caps.API,
		Concurrent: caps.Concurrent,
		NoClose:    !caps.Close,
		New: func(env conformance.Env) (conformance.Client, error) {
			p, err := a.Start(ctx, env)
			if err != nil {
				return nil, err
			}
			return p, nil
		},
	}
}

// environ builds the adapter's scrubbed environment: PATH, HOME and the
// locale from parent, the fake's address and credentials, and proxy
// variables that send any other traffic to the refuser.
func environ(parent []string, env conformance.Env, proxy string) []string {
	var out []string
	for _, kv := range parent {
		k, _, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if k == "PATH" || k == "HOME" || k == "LANG" || k == "LANGUAGE" || strings.HasPrefix(k, "LC_") {
			out = append(out, kv)
		}
	}
	out = append(out,
		"FAKEBILL_URL="+strings.TrimRight(env.BaseURL, "/"),
		"FAKEBILL_USER_NAME="+env.UserName,
		"FAKEBILL_PASSWORD="+env.Password,
		"FAKEBILL_ORG_ID="+env.OrgID,
		"FAKEBILL_DEV_KEY="+env.DevKey,
		"HTTP_PROXY="+proxy, "HTTPS_PROXY="+proxy,
		"http_proxy="+proxy, "https_proxy="+proxy,
		"NO_PROXY="+noProxy, "no_proxy="+noProxy,
	)
	return out
}

const noProxy = "127.0.0.1,localhost,::1"

func (a *Adapter) parentEnv() []string {
	if a.Environ != nil {
		return a.Environ
	}
	return os.Environ()
}
