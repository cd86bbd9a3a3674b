// Package adaptertest is an adapter (protocol 1) with switchable faults,
// for testing the runner. A test binary re-executes itself as the adapter:
// call [MaybeRun] first thing in TestMain (or init), and start [Command].
//
// Modes:
//
//	good        the reference client; concurrent; logs out on close
//	sequential  good, but announces concurrent:false
//	echo        no HTTP: a call answers {"path","data"}; path Fail.json
//	            answers BDC_1109; writes one line to stderr per call
//	env         a call answers the adapter's environment as an object
//	v3          announces api "v3"
//	proto2      announces protocol 2
//	refuse      answers hello with ok:false
//	hang-hello  never answers hello
//	hang        never answers a call
//	crash       exits with status 3 at the first call
//	nonjson     good, but prints a log line on stdout before each answer
//	huge        answers the first call with a line over 1 MiB
//	unknown-id  good, but also answers an id that was never sent
//	no-exit     answers close but does not exit
//	hang-close  never answers close and ignores the end of stdin
//	deaf        answers hello, then stops reading stdin
//	bad-exit    exits with status 1 after close
//	proxy       good, but first sends a request to api.bill.com through
//	            the HTTP_PROXY it was given
//	grandchild  echo, but starts a child that holds stdout and sleeps; a
//	            call answers {"pid": child's pid}
//	leaky-log   good, but logs its password and a devKey prefix to stderr
//	leaky-crash logs its credentials to stderr and exits at the first call
//	no-relogin  a naive client that logs in once and never again
//	no-logout   good, but announces close:true and never logs out
//
// An extra argument after the mode names a file to which the adapter
// appends its credentials, one per line, so that a test can scan reports
// for them.
package adaptertest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/fakebill/toolkit/examples/goclient"
)

// Flag is the argument that makes a test binary act as the adapter.
const Flag = "-fakebill.test-adapter"

// Command returns the command line that runs the current binary as the
// adapter in mode, with optional extra arguments.
func Command(mode string, extra ...string) []string {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return append([]string{exe, Flag, mode}, extra...)
}

// MaybeRun runs the adapter and exits if the process was started by
// [Command]; otherwise it returns.
func MaybeRun() {
	if len(os.Args) >= 3 && os.Args[1] == Flag {
		os.Exit(Main(os.Args[2], os.Args[3:], os.Stdin, os.Stdout, os.Stderr))
	}
}

type request struct {
	ID   int64           `json:"id"`
	Op   string          `json:"op"`
	Path string          `json:"path"`
	Data json.RawMessage `json:"data"`
}

type adapter struct {
	mode   string
	out    io.Writer
	errOut io.Writer
	outMu  sync.Mutex
	client caller
	calls  int
	mu     sync.Mutex
}

type caller interface {
	Call(ctx context.Context, path string, data any) (json.RawMessage, error)
	Close() error
}

// Main runs the adapter in mode and returns its exit status.
func Main(mode string, args []string, in io.Reader, out, errOut io.Writer) int {
	if len(args) > 0 {
		f, err := os.OpenFile(args[0], os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err == nil {
			for _, k := range []string{"USER_NAME", "PASSWORD", "DEV_KEY"} {
				fmt.Fprintln(f, os.Getenv("FAKEBILL_"+k))
			}
			f.Close()
		}
	}
	if mode == "sleep" {
		time.Sleep(time.Hour)
		return 0
	}
	a := &adapter{mode: mode, out: out, errOut: errOut}
	switch mode {
	case "good", "sequential", "no-logout", "hang-close", "nonjson", "unknown-id", "proxy", "leaky-log", "no-exit", "bad-exit", "crash", "hang", "huge", "linger":
		c, err := goclient.New(goclient.Config{
			BaseURL: os.Getenv("FAKEBILL_URL"), UserName: os.Getenv("FAKEBILL_USER_NAME"),
			Password: os.Getenv("FAKEBILL_PASSWORD"), OrgID: os.Getenv("FAKEBILL_ORG_ID"),
			DevKey: os.Getenv("FAKEBILL_DEV_KEY"), Log: errOut,
			HTTPClient: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{}},
		})
		if err != nil {
			fmt.Fprintln(errOut, err)
			return 1
		}
		a.client = c
	case "no-relogin":
		a.client = &naive{}
	}
	return a.run(in)
}

func (a *adapter) write(v any) {
	b, _ := json.Marshal(v)
	a.outMu.Lock()
	defer a.outMu.Unlock()
	a.out.Write(append(b, '\n'))
}

func (a *adapter) run(in io.Reader) int {
	sc := bufio.NewScanner(in)
	sc.Buffer(nil, 1<<20)
	var wg sync.WaitGroup
	for sc.Scan() {
		var req request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			fmt.Fprintln(a.errOut, "bad request line")
			continue
		}
		switch req.Op {
		case "hello":
			a.hello(req)
			if a.mode == "deaf" {
				time.Sleep(time.Hour)
			}
		case "call":
			if a.mode == "sequential" {
				a.call(req)
				continue
			}
			wg.Add(1)
			go func() { defer wg.Done(); a.call(req) }()
		case "close":
			if a.mode == "hang-close" {
				time.Sleep(time.Hour)
			}
			wg.Wait()
			if a.client != nil && a.mode != "no-logout" {
				a.client.Close()
			}
			a.write(map[string]any{"id": req.ID, "ok": true})
			return a.exit()
		default:
			a.write(map[string]any{"id": req.ID, "ok": false, "error": map[string]string{"kind": "other", "message": "unknown op"}})
		}
	}
	wg.Wait()
	if a.client != nil {
		a.client.Close()
	}
	return a.exit()
}

func (a *adapter) exit() int {
	switch a.mode {
	case "no-exit":
		time.Sleep(time.Hour)
	case "bad-exit":
		return 1
	}
	return 0
}

func (a *adapter) hello(req request) {
	ans := map[string]any{"id": req.ID, "ok": true, "protocol": 1, "api": "v2", "concurrent": a.mode != "sequential", "close": true}
	switch a.mode {
	case "v3":
		ans["api"] = "v3"
	case "proto2":
		ans["protocol"] = 2
	case "refuse":
		ans = map[string]any{"id": req.ID, "ok": false, "error": map[string]string{"kind": "other", "message": "protocol 1 not supported"}}
	case "hang-hello":
		time.Sleep(time.Hour)
	case "grandchild":
		cmd := exec.Command(os.Args[0], Flag, "sleep")
		cmd.Stdout = a.out.(*os.File)
		if err := cmd.Start(); err == nil {
			a.mu.Lock()
			a.calls = cmd.Process.Pid
			a.mu.Unlock()
		}
	case "sleep":
		time.Sleep(time.Hour)
	case "linger":
		// A background child that outlives the adapter and keeps its
		// stdout and stderr open, as "( sleep 300 & )" in a script does.
		cmd := exec.Command(os.Args[0], Flag, "sleep")
		cmd.Stdout, cmd.Stderr = a.out.(*os.File), a.errOut.(*os.File)
		_ = cmd.Start()
	}
	a.write(ans)
}

func (a *adapter) call(req request) {
	a.mu.Lock()
	first := a.calls == 0
	if a.mode != "grandchild" {
		a.calls++
	}
	a.mu.Unlock()
	switch a.mode {
	case "hang":
		time.Sleep(time.Hour)
	case "crash":
		fmt.Fprintln(a.errOut, "panic: the client under test fell over")
		os.Exit(3)
	case "leaky-crash":
		fmt.Fprintf(a.errOut, "login failed for %s with %s (%s)\n", os.Getenv("FAKEBILL_USER_NAME"),
			url.QueryEscape(os.Getenv("FAKEBILL_PASSWORD")), os.Getenv("FAKEBILL_DEV_KEY"))
		os.Exit(3)
	case "huge":
		if first {
			a.write(map[string]any{"id": req.ID, "ok": true, "result": strings.Repeat("x", 1<<20)})
			return
		}
	case "echo":
		fmt.Fprintf(a.errOut, "calling %s\n", req.Path)
		if req.Path == "Fail.json" {
			a.write(map[string]any{"id": req.ID, "ok": false, "error": map[string]string{"code": "BDC_1109", "kind": "session", "message": "Session is invalid.  Please log in."}})
			return
		}
		a.write(map[string]any{"id": req.ID, "ok": true, "result": map[string]any{"path": req.Path, "data": req.Data}})
		return
	case "env":
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		a.write(map[string]any{"id": req.ID, "ok": true, "result": env})
		return
	case "grandchild":
		a.mu.Lock()
		pid := a.calls
		a.mu.Unlock()
		a.write(map[string]any{"id": req.ID, "ok": true, "result": map[string]int{"pid": pid}})
		return
	case "nonjson":
		a.outMu.Lock()
		fmt.Fprintf(a.out, "debug: calling %s\n", req.Path)
		a.outMu.Unlock()
	case "unknown-id":
		a.write(map[string]any{"id": req.ID + 1000, "ok": true})
	case "proxy":
		if first {
			probeProxy()
		}
	case "leaky-log":
		if first {
			fmt.Fprintf(a.errOut, "login as password=%s devKey=%s...\n", os.Getenv("FAKEBILL_PASSWORD"), os.Getenv("FAKEBILL_DEV_KEY")[:6])
		}
	}
	var data any
	if len(req.Data) > 0 {
		data = req.Data
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := a.client.Call(ctx, req.Path, data)
	if err != nil {
		e := map[string]string{"kind": "other", "message": err.Error()}
		if c, ok := err.(interface{ Code() string }); ok {
			e["code"] = c.Code()
		}
		if k, ok := err.(interface{ Kind() string }); ok {
			e["kind"] = k.Kind()
		}
		a.write(map[string]any{"id": req.ID, "ok": false, "error": e})
		return
	}
	a.write(map[string]any{"id": req.ID, "ok": true, "result": res})
}

// probeProxy sends one request for a real Bill.com host, only ever through
// a loopback proxy, so that the refuser sees it and nothing leaves the
// machine.
func probeProxy() {
	p, err := url.Parse(os.Getenv("HTTP_PROXY"))
	if err != nil || !strings.HasPrefix(p.Host, "127.0.0.1:") {
		return
	}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(p)}}
	resp, err := hc.Get("http://api.bill.com/api/v2/Telemetry.json")
	if err == nil {
		resp.Body.Close()
	}
}

// naive is a client that logs in at its first call and never again.
type naive struct {
	mu      sync.Mutex
	session string
}

func (n *naive) post(ctx context.Context, path string, form url.Values) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, os.Getenv("FAKEBILL_URL")+"/"+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
	if err != nil {
		return nil, &goclient.APIError{Op: path, Message: "no answer"}
	}
	defer resp.Body.Close()
	var env struct {
		Status int             `json:"response_status"`
		Data   json.RawMessage `json:"response_data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return nil, &goclient.APIError{Op: path, HTTPStatus: resp.StatusCode, Message: "not an envelope"}
	}
	if env.Status != 0 {
		var e struct {
			Code string `json:"error_code"`
			Msg  string `json:"error_message"`
		}
		json.Unmarshal(env.Data, &e)
		return nil, &goclient.APIError{Op: path, HTTPStatus: resp.StatusCode, ErrorCode: e.Code, Message: e.Msg}
	}
	return env.Data, nil
}

func (n *naive) Call(ctx context.Context, path string, data any) (json.RawMessage, error) {
	n.mu.Lock()
	if n.session == "" {
		res, err := n.post(ctx, "Login.json", url.Values{
			"userName": {os.Getenv("FAKEBILL_USER_NAME")}, "password": {os.Getenv("FAKEBILL_PASSWORD")},
			"orgId": {os.Getenv("FAKEBILL_ORG_ID")}, "devKey": {os.Getenv("FAKEBILL_DEV_KEY")},
		})
		if err != nil {
			n.mu.Unlock()
			return nil, err
		}
		var s struct {
			SessionID string `json:"sessionId"`
		}
		json.Unmarshal(res, &s)
		n.session = s.SessionID
	}
	sid := n.session
	n.mu.Unlock()
	form := url.Values{"devKey": {os.Getenv("FAKEBILL_DEV_KEY")}, "sessionId": {sid}}
	if data != nil {
		b, _ := json.Marshal(data)
		form.Set("data", string(b))
	}
	return n.post(ctx, path, form)
}

func (n *naive) Close() error { return nil }
