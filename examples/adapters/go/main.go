// Goadapter is the fakebill adapter (protocol 1) for the Go reference
// client in examples/goclient: it reads requests on stdin, makes the client
// perform them, and writes the answers on stdout. The client's log goes to
// stderr.
//
// Usage:
//
//	go build -o goadapter ./examples/adapters/go
//	fakebill conform -- ./goadapter
//
// Where to connect and the credentials come from the FAKEBILL_* variables
// the runner sets (docs/ADAPTER.md), never from arguments.
//
// The -resolve flag sends connections for one host:port to another
// address, in the manner of curl's --resolve, so that the client can reach
// a local server under the name it has in a deployment:
//
//	goadapter -resolve fakebill:8080=127.0.0.1:41234
//
// The Host header, and with it the apiEndPoint the server reports, keeps
// the name.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/fakebill/toolkit/examples/goclient"
)

// callTimeout bounds one call, re-login and replay included.
const callTimeout = 60 * time.Second

// maxLine is the longest request line accepted.
const maxLine = 1 << 20

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// request is one line from the runner.
type request struct {
	ID       json.RawMessage `json:"id"`
	Op       string          `json:"op"`
	Protocol int             `json:"protocol"`
	Path     string          `json:"path"`
	Data     json.RawMessage `json:"data"`
}

// answer is one line to the runner.
type answer struct {
	ID         json.RawMessage `json:"id"`
	OK         bool            `json:"ok"`
	Protocol   int             `json:"protocol,omitempty"`
	API        string          `json:"api,omitempty"`
	Concurrent *bool           `json:"concurrent,omitempty"`
	Close      *bool           `json:"close,omitempty"`
	Result     json.RawMessage `json:"result,omitempty"`
	Error      *answerError    `json:"error,omitempty"`
}

type answerError struct {
	Code    string `json:"code,omitempty"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// resolveFlag collects -resolve HOST:PORT=ADDR:PORT mappings.
type resolveFlag map[string]string

func (r resolveFlag) String() string { return "" }

func (r resolveFlag) Set(v string) error {
	from, to, ok := strings.Cut(v, "=")
	if !ok {
		return errors.New("want HOST:PORT=ADDR:PORT")
	}
	for _, hp := range []string{from, to} {
		if _, _, err := net.SplitHostPort(hp); err != nil {
			return fmt.Errorf("%q: %v", hp, err)
		}
	}
	r[from] = to
	return nil
}

func run(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("goadapter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	resolve := resolveFlag{}
	fs.Var(resolve, "resolve", "connect to `HOST:PORT=ADDR:PORT` instead (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}

	client, err := goclient.New(goclient.Config{
		BaseURL:    getenv("FAKEBILL_URL"),
		UserName:   getenv("FAKEBILL_USER_NAME"),
		Password:   getenv("FAKEBILL_PASSWORD"),
		OrgID:      getenv("FAKEBILL_ORG_ID"),
		DevKey:     getenv("FAKEBILL_DEV_KEY"),
		HTTPClient: httpClient(resolve),
		Log:        stderr,
	})
	if err != nil {
		fmt.Fprintln(stderr, "goadapter:", err)
		return 2
	}
	a := &adapter{client: client, out: json.NewEncoder(stdout)}
	return a.serve(stdin, stderr)
}

// httpClient returns the client's transport: the default one, dialling
// the mapped address for each host:port in resolve.
func httpClient(resolve resolveFlag) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if len(resolve) > 0 {
		var d net.Dialer
		t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if to, ok := resolve[addr]; ok {
				addr = to
			}
			return d.DialContext(ctx, network, addr)
		}
	}
	return &http.Client{Transport: t, Timeout: callTimeout, CheckRedirect: noRedirect}
}

// noRedirect answers a redirect as it is: v2 never sends one, and
// following it would send the form, credentials included, elsewhere.
func noRedirect(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}

// adapter serves the protocol over one shared client.
type adapter struct {
	client *goclient.Client
	outMu  sync.Mutex
	out    *json.Encoder
	calls  sync.WaitGroup
}

func (a *adapter) reply(ans answer) {
	a.outMu.Lock()
	defer a.outMu.Unlock()
	_ = a.out.Encode(ans) // one line, newline-terminated, unbuffered
}

func fail(id json.RawMessage, code, kind, msg string) answer {
	return answer{ID: id, Error: &answerError{Code: code, Kind: kind, Message: msg}}
}

// serve reads requests until close or end of input.
func (a *adapter) serve(stdin io.Reader, stderr io.Writer) int {
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var req request
		if err := json.Unmarshal([]byte(line), &req); err != nil {
			a.reply(fail(json.RawMessage("null"), "", "other", "request is not JSON"))
			continue
		}
		switch req.Op {
		case "hello":
			if req.Protocol != 1 {
				a.reply(fail(req.ID, "", "other", "unsupported protocol version"))
				continue
			}
			yes := true
			a.reply(answer{ID: req.ID, OK: true, Protocol: 1, API: "v2", Concurrent: &yes, Close: &yes})
		case "call":
			a.calls.Add(1)
			go func() {
				defer a.calls.Done()
				a.reply(a.call(req))
			}()
		case "close":
			a.finish(stderr)
			a.reply(answer{ID: req.ID, OK: true})
			return 0
		default:
			a.reply(fail(req.ID, "", "other", "unknown op"))
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(stderr, "goadapter: reading requests:", err)
	}
	a.finish(stderr)
	return 0
}

// call performs one call request.
func (a *adapter) call(req request) answer {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	var data any
	if len(req.Data) > 0 && string(req.Data) != "null" {
		data = req.Data
	}
	result, err := a.client.Call(ctx, req.Path, data)
	if err != nil {
		code, kind := "", goclient.KindTransport
		var apiErr *goclient.APIError
		if errors.As(err, &apiErr) {
			code, kind = apiErr.Code(), apiErr.Kind()
		} else if !errors.Is(err, context.DeadlineExceeded) {
			kind = "other"
		}
		return fail(req.ID, code, kind, err.Error())
	}
	if len(result) == 0 {
		result = json.RawMessage("null")
	}
	return answer{ID: req.ID, OK: true, Result: result}
}

// finish waits for calls in flight, then logs out.
func (a *adapter) finish(stderr io.Writer) {
	a.calls.Wait()
	if err := a.client.Close(); err != nil {
		fmt.Fprintln(stderr, "goadapter: logout:", err)
	}
}
