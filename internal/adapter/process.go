package adapter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/fakebill/toolkit/conformance"
	"github.com/fakebill/toolkit/internal/report"
)

// Process is one running adapter: a [conformance.Client] whose calls go
// over the protocol, and a [conformance.ProblemReporter] for what happened
// outside the calls (protocol errors, a crash, a hang, a refused proxy
// attempt). Its methods are safe for concurrent use.
type Process struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	caps    Capabilities
	timeout time.Duration
	grace   time.Duration   // to exit after close
	ctx     context.Context // the caller's; done means the run is over
	kill    context.CancelFunc
	redact  *report.Redactor
	refuser *refuser

	callMu  sync.Mutex // held for each call when the adapter is not concurrent
	writeMu sync.Mutex // one request line at a time on stdin

	mu        sync.Mutex
	nextID    int64
	pending   map[int64]chan answer
	abandoned map[int64]bool // ids whose caller gave up; a late answer is fine
	problems  []string
	closing   bool // close was sent or stdin closed: exiting is expected
	killed    bool // we killed it and already said why
	closed    bool

	stderr   *tail         // the end of stderr, to explain a crash
	readDone chan struct{} // stdout reached EOF
	exited   chan struct{} // process waited for; state below set
	exitErr  error
}

// answer is an adapter's reply to one request, or the failure to get one.
type answer struct {
	msg reply
	err error
}

// reply is an adapter's answer line as decoded.
type reply struct {
	ID     *int64          `json:"id"`
	OK     *bool           `json:"ok"`
	Result json.RawMessage `json:"result"`
	Error  *Error          `json:"error"`
	Capabilities
}

// Error is an error the client under test reported for a call. Its
// message is the client's own; the conformance checks read its code and
// kind.
type Error struct {
	ErrCode    string `json:"code"`
	ErrKind    string `json:"kind"`
	ErrMessage string `json:"message"`
}

// Code returns the BDC code the client reported, or "".
func (e *Error) Code() string { return e.ErrCode }

// Kind returns the error kind the client reported: auth, session, api,
// rate_limit, transport or other.
func (e *Error) Kind() string { return e.ErrKind }

// Error returns the client's message, or its code or kind when it gave
// no message.
func (e *Error) Error() string {
	if e.ErrMessage != "" {
		return e.ErrMessage
	}
	if e.ErrCode != "" {
		return e.ErrCode
	}
	return "client error of kind " + e.ErrKind
}

// start runs the process and completes hello without judging the API.
func (a *Adapter) start(ctx context.Context, env conformance.Env) (*Process, error) {
	if len(a.Args) == 0 {
		return nil, fmt.Errorf("%w: no adapter command", ErrSetup)
	}
	secrets := a.remember(env)
	ref, err := newRefuser()
	if err != nil {
		return nil, fmt.Errorf("%w: refusing proxy: %v", ErrSetup, err)
	}
	pctx, kill := context.WithCancel(ctx)
	p := &Process{
		caps:      Capabilities{},
		timeout:   a.timeout(),
		grace:     a.grace(),
		ctx:       ctx,
		kill:      kill,
		redact:    report.NewRedactor(secrets...),
		refuser:   ref,
		pending:   make(map[int64]chan answer),
		abandoned: make(map[int64]bool),
		readDone:  make(chan struct{}),
		exited:    make(chan struct{}),
		stderr:    &tail{max: stderrTail},
	}
	cmd := exec.CommandContext(pctx, a.Args[0], a.Args[1:]...)
	cmd.Env = environ(a.parentEnv(), env, ref.URL())
	cmd.Stderr = p.stderr
	if env.Log != nil {
		cmd.Stderr = io.MultiWriter(env.Log, p.stderr)
	}
	cmd.WaitDelay = 2 * time.Second
	setGroup(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, p.abort(err)
	}
	// Our own pipe for stdout, so that Wait never races the reader.
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, p.abort(err)
	}
	cmd.Stdout = outW
	if err := cmd.Start(); err != nil {
		outR.Close()
		outW.Close()
		return nil, p.abort(err)
	}
	outW.Close()
	p.cmd, p.stdin = cmd, stdin
	go p.read(outR)
	go p.wait()

	if err := p.hello(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Process) abort(err error) error {
	p.kill()
	p.refuser.Close()
	return fmt.Errorf("%w: starting the adapter: %v", ErrSetup, err)
}

// hello sends the handshake and checks the answer.
func (p *Process) hello() error {
	ans := p.roundTrip(context.Background(), map[string]any{"op": "hello", "protocol": Protocol}, "hello")
	if ans.err != nil {
		return fmt.Errorf("%w: hello: %v", ErrSetup, ans.err)
	}
	if !*ans.msg.OK {
		msg := p.redact.Redact(errorOf(ans.msg).Error())
		return fmt.Errorf("%w: the adapter refused hello: %v", ErrSetup, msg)
	}
	if ans.msg.Protocol != Protocol {
		return fmt.Errorf("%w: the adapter speaks protocol %d; this runner speaks %d", ErrSetup, ans.msg.Protocol, Protocol)
	}
	p.caps = ans.msg.Capabilities
	return nil
}

// Capabilities returns what the adapter announced in its hello answer.
func (p *Process) Capabilities() Capabilities { return p.caps }

// Call asks the adapter to perform one API call and returns the result
// the client returned, or its error as an [*Error]. A call the adapter
// does not answer in time, or a crash, fails the call and is reported by
// Problems as well.
func (p *Process) Call(ctx context.Context, path string, data any) (json.RawMessage, error) {
	if !p.caps.Concurrent {
		p.callMu.Lock()
		defer p.callMu.Unlock()
	}
	ans := p.roundTrip(ctx, map[string]any{"op": "call", "path": path, "data": data}, "call "+path)
	if ans.err != nil {
		return nil, ans.err
	}
	if !*ans.msg.OK {
		return nil, errorOf(ans.msg)
	}
	if len(ans.msg.Result) == 0 {
		return json.RawMessage("null"), nil
	}
	return ans.msg.Result, nil
}

func errorOf(m reply) *Error {
	if m.Error == nil {
		return &Error{ErrKind: "other", ErrMessage: "the adapter answered ok:false without an error"}
	}
	return m.Error
}

// roundTrip sends one request and waits for its answer, the process's
// end, the timeout or ctx.
func (p *Process) roundTrip(ctx context.Context, req map[string]any, what string) answer {
	ch := make(chan answer, 1)
	p.mu.Lock()
	if p.exitedLocked() || p.closing {
		p.mu.Unlock()
		return answer{err: errors.New("the adapter is not running")}
	}
	id := p.nextID
	p.nextID++
	p.pending[id] = ch
	p.mu.Unlock()
	req["id"] = id

	line, err := json.Marshal(req)
	if err != nil {
		p.forget(id, false)
		return answer{err: fmt.Errorf("encoding request %d: %w", id, err)}
	}
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	// A write blocks while the adapter is not reading; the timer below
	// kills the process, which unblocks it.
	go p.send(id, append(line, '\n'))

	select {
	case ans := <-ch:
		return ans
	case <-timer.C:
		p.problem(fmt.Sprintf("hang: no answer to request %d (%s) within %v; the adapter was killed", id, what, p.timeout))
		p.stop()
		return answer{err: fmt.Errorf("no answer to request %d within %v", id, p.timeout)}
	case <-ctx.Done():
		p.forget(id, true)
		return answer{err: ctx.Err()}
	}
}

func (p *Process) send(id int64, line []byte) {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	if _, err := p.stdin.Write(line); err != nil {
		// The process is gone or going; wait() reports why.
		p.finish(id, answer{err: fmt.Errorf("writing request %d: the adapter is not reading stdin: %v", id, err)})
	}
}

func (p *Process) forget(id int64, abandon bool) {
	p.mu.Lock()
	delete(p.pending, id)
	if abandon {
		p.abandoned[id] = true
	}
	p.mu.Unlock()
}

// finish delivers ans to the caller waiting for id, if any.
func (p *Process) finish(id int64, ans answer) bool {
	p.mu.Lock()
	ch, ok := p.pending[id]
	delete(p.pending, id)
	p.mu.Unlock()
	if ok {
		ch <- ans
	}
	return ok
}

func (p *Process) problem(s string) {
	p.mu.Lock()
	p.problems = append(p.problems, p.redact.Redact(s))
	p.mu.Unlock()
}

// stop kills the process group after a problem that was already reported.
func (p *Process) stop() {
	p.mu.Lock()
	p.killed = true
	p.mu.Unlock()
	p.kill()
}

func (p *Process) exitedLocked() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// read dispatches stdout lines to waiting callers.
func (p *Process) read(r io.ReadCloser) {
	defer close(p.readDone)
	defer r.Close()
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, tooLong, err := readLine(br, MaxLine)
		if tooLong {
			p.problem(fmt.Sprintf("protocol error: stdout line %d is longer than 1 MiB; the adapter was killed", n))
			p.stop()
			io.Copy(io.Discard, br)
			return
		}
		if len(bytes.TrimSpace(line)) > 0 {
			p.dispatch(n, line)
		}
		if err != nil {
			return
		}
	}
}

// readLine reads one line of at most max bytes, newline excluded. It
// reports tooLong, without reading further, for a longer one.
func readLine(br *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(bytes.TrimSuffix(line, []byte("\n"))) > max {
			return nil, true, nil
		}
		if err != bufio.ErrBufferFull {
			return bytes.TrimSuffix(line, []byte("\n")), false, err
		}
	}
}

func (p *Process) dispatch(n int, line []byte) {
	var m reply
	if err := json.Unmarshal(line, &m); err != nil || m.ID == nil {
		var obj map[string]json.RawMessage
		if json.Unmarshal(line, &obj) != nil {
			p.problem(fmt.Sprintf("protocol error: stdout line %d is not a JSON object (%d bytes); "+
				"stdout carries protocol lines only, logs go to stderr", n, len(line)))
		} else {
			p.problem(fmt.Sprintf("protocol error: stdout line %d has no integer id", n))
		}
		return
	}
	id := *m.ID
	if m.OK == nil {
		p.problem(fmt.Sprintf("protocol error: the answer to request %d has no ok field", id))
		f := false
		m.OK = &f
		m.Error = &Error{ErrKind: "other", ErrMessage: "malformed answer"}
	}
	if p.finish(id, answer{msg: m}) {
		return
	}
	p.mu.Lock()
	late := p.abandoned[id]
	delete(p.abandoned, id)
	p.mu.Unlock()
	if !late {
		p.problem(fmt.Sprintf("protocol error: an answer with id %d, which is not an open request", id))
	}
}

// wait reaps the process and fails whatever is still pending.
func (p *Process) wait() {
	err := p.cmd.Wait()
	if errors.Is(err, exec.ErrWaitDelay) {
		// The adapter exited cleanly, but something it started still
		// holds its stdout or stderr open. That is its child's business,
		// not a fault of the client; killGroup ends the child.
		err = nil
	}
	killGroup(p.cmd)
	select {
	case <-p.readDone:
	case <-time.After(2 * time.Second):
	}
	p.refuser.Close()

	p.mu.Lock()
	closing, killed := p.closing, p.killed
	p.mu.Unlock()
	status := exitStatus(err)
	switch {
	case killed:
	case p.ctx.Err() != nil:
		p.problem("the run timed out or was stopped; the adapter was killed")
	case !closing:
		p.problem(fmt.Sprintf("crash: the adapter exited (%s) before close%s", status, p.stderr.explain()))
	case err != nil:
		p.problem(fmt.Sprintf("the adapter exited (%s) after close; want exit status 0%s", status, p.stderr.explain()))
	}

	// Problems first: whoever waits on exited reads them next.
	p.mu.Lock()
	p.exitErr = err
	close(p.exited)
	pending := p.pending
	p.pending = make(map[int64]chan answer)
	p.mu.Unlock()
	for id, ch := range pending {
		ch <- answer{err: fmt.Errorf("the adapter exited (%s) before answering request %d", status, id)}
	}
}

func exitStatus(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "exit status 0"
	case errors.As(err, &ee):
		return ee.ProcessState.String()
	default:
		return err.Error()
	}
}

// Close sends close, waits up to 5 seconds for the answer and the exit,
// then kills the process group. It is idempotent. Close returns the
// client's error if it answered close with one; everything else that
// went wrong is in Problems.
func (p *Process) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.exited
		return nil
	}
	p.closed = true
	p.mu.Unlock()

	// One deadline for the answer and the exit together.
	deadline, cancel := context.WithTimeout(context.Background(), p.grace)
	defer cancel()
	var closeErr error
	ans := make(chan answer, 1)
	go func() { ans <- p.roundTripClose() }()
	select {
	case a := <-ans:
		if a.err == nil && !*a.msg.OK {
			closeErr = errorOf(a.msg)
		}
	case <-deadline.Done():
	}
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
	// Not under writeMu: a write blocked on an adapter that stopped
	// reading holds it, and closing the pipe is what unblocks that write.
	p.stdin.Close()

	select {
	case <-p.exited:
	case <-deadline.Done():
		p.problem(fmt.Sprintf("the adapter did not exit within %v of close; it was killed", p.grace))
		p.stop()
		<-p.exited
	}
	p.kill()
	return closeErr
}

// roundTripClose sends close. It marks the process as closing first, so
// that exiting right after the answer is not taken for a crash.
func (p *Process) roundTripClose() answer {
	p.mu.Lock()
	if p.exitedLocked() {
		p.mu.Unlock()
		return answer{err: errors.New("the adapter is not running")}
	}
	id := p.nextID
	p.nextID++
	ch := make(chan answer, 1)
	p.pending[id] = ch
	p.closing = true
	p.mu.Unlock()
	line, _ := json.Marshal(map[string]any{"id": id, "op": "close"})
	go p.send(id, append(line, '\n'))
	return <-ch
}

// Problems returns what went wrong outside the answers to calls, each a
// sentence with no secret in it: protocol errors, a crash or hang, and
// every attempt to reach another host through the proxy. It is complete
// once Close has returned.
func (p *Process) Problems() []string {
	p.mu.Lock()
	out := append([]string(nil), p.problems...)
	p.mu.Unlock()
	for _, s := range p.refuser.Problems() {
		out = append(out, p.redact.Redact(s))
	}
	return out
}

// stderrTail is how much of the end of stderr a crash report quotes.
const stderrTail = 512

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// explain quotes the end of stderr for a problem; the problem is redacted
// as a whole before anyone sees it.
func (t *tail) explain() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(strings.ToValidUTF8(string(t.buf), "?"))
	if s == "" {
		return ""
	}
	return "; its stderr ended with:\n" + s
}
