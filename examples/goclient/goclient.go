// Package goclient is a small Bill.com v2 API client written as a model of
// session handling: it logs in once, keeps the session, notices an expired
// or ended session by its error code (BDC_1109), logs in again once for all
// concurrent callers, replays the failed call once, and never puts a secret
// in a URL, an error or a log line.
//
// It passes every check of the conformance catalog; copy what you need.
//
//	c, err := goclient.New(goclient.Config{
//		BaseURL:  "https://api-stage.bill.com/api/v2",
//		UserName: user, Password: password, OrgID: orgID, DevKey: devKey,
//	})
//	...
//	defer c.Close()
//	vendor, err := c.Call(ctx, "Crud/Read/Vendor.json", map[string]any{"id": id})
package goclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Error kinds reported by [APIError.Kind]. They match the conformance
// adapter protocol's kinds.
const (
	KindAuth      = "auth"       // credentials or developer key refused
	KindSession   = "session"    // session invalid, expired or ended
	KindRateLimit = "rate_limit" // hourly or concurrency limit reached
	KindAPI       = "api"        // any other error the service answered
	KindTransport = "transport"  // no usable answer from the service
	KindOther     = "other"      // a code that is not the service's
)

// codeSessionInvalid is the code of an invalid, expired or ended session.
const codeSessionInvalid = "BDC_1109"

// closeTimeout bounds the logout Close sends.
const closeTimeout = 10 * time.Second

// ErrClosed is returned by Call after Close.
var ErrClosed = errors.New("goclient: client is closed")

// Config configures a [Client]. BaseURL and every credential are required;
// there is no default host.
type Config struct {
	// BaseURL is the v2 base URL, such as
	// "https://api-stage.bill.com/api/v2". A trailing slash is ignored.
	BaseURL string

	// UserName, Password, OrgID and DevKey are the login credentials.
	// They are sent in POST bodies only: credentials on Login, the
	// developer key and session on every other call.
	UserName, Password, OrgID, DevKey string

	// HTTPClient sends the requests; nil means a client with a 60-second
	// timeout. Redirects are never followed, whatever this client says:
	// following one would re-send a login form, credentials and all, to
	// wherever the redirect points.
	HTTPClient *http.Client

	// Log, if set, receives one line per login, logout and session
	// renewal. Lines never carry a credential or session id.
	Log io.Writer
}

// Client is a Bill.com v2 client. It is safe for concurrent use; its
// callers share one session and at most one login is in flight at a time.
type Client struct {
	base string
	cfg  Config
	hc   *http.Client

	logMu sync.Mutex

	mu      sync.Mutex
	session string       // "" when there is none
	gen     uint64       // bumped by every successful login
	flight  *loginFlight // the login in progress, if any
	closed  bool
}

// loginFlight is one login shared by every caller that needs a session
// while it runs.
type loginFlight struct {
	done    chan struct{}
	session string
	gen     uint64
	err     error
}

// New returns a Client for cfg. It does not log in: the first Call does.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("goclient: BaseURL must be an absolute http or https URL")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("goclient: BaseURL must have no query or fragment")
	}
	for _, f := range []struct{ name, value string }{
		{"UserName", cfg.UserName}, {"Password", cfg.Password},
		{"OrgID", cfg.OrgID}, {"DevKey", cfg.DevKey},
	} {
		if f.value == "" {
			return nil, fmt.Errorf("goclient: %s is required", f.name)
		}
	}
	hc := &http.Client{Timeout: 60 * time.Second}
	if cfg.HTTPClient != nil {
		copied := *cfg.HTTPClient
		hc = &copied
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{base: strings.TrimRight(cfg.BaseURL, "/"), cfg: cfg, hc: hc}, nil
}

// Call performs the v2 operation at path ("Crud/Read/Vendor.json"), with
// data marshalled to JSON as the data field (none if data is nil), and
// returns the response_data of a successful answer.
//
// If the service answers that the session is invalid, Call logs in again
// (once for all concurrent callers) and replays the request once, with the
// same data. Every other error is returned as it is, as an *[APIError]
// when the service answered.
func (c *Client) Call(ctx context.Context, path string, data any) (json.RawMessage, error) {
	path = strings.TrimLeft(path, "/")
	if path == "" || strings.ContainsAny(path, "?#") || strings.Contains(path, "://") {
		// Parameters belong in data, never in the URL.
		return nil, fmt.Errorf("goclient: %q is not an operation path such as Crud/Read/Vendor.json", path)
	}
	form := url.Values{"devKey": {c.cfg.DevKey}}
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return nil, fmt.Errorf("goclient: %s: encoding data: %w", path, err)
		}
		form.Set("data", string(b))
	}

	// One replay at most: a session that fails twice in a row means the
	// service will not accept us now, and looping would only add logins.
	for attempt := 0; ; attempt++ {
		session, gen, err := c.currentSession(ctx)
		if err != nil {
			return nil, err
		}
		form.Set("sessionId", session)
		result, err := c.post(ctx, path, form)
		var apiErr *APIError
		if attempt == 0 && errors.As(err, &apiErr) && apiErr.ErrorCode == codeSessionInvalid {
			c.drop(gen)
			c.logf("%s: session no longer valid; logging in again", path)
			continue
		}
		if errors.As(err, &apiErr) && apiErr.ErrorCode == codeSessionInvalid {
			// The session we just got is refused too; forget it so the
			// next call starts afresh instead of sending it again.
			c.drop(gen)
		}
		return result, err
	}
}

// Close logs out, if a session is open, and makes later calls fail with
// [ErrClosed]. It is safe to call more than once.
func (c *Client) Close() error {
	c.mu.Lock()
	session := c.session
	c.session = ""
	c.closed = true
	c.mu.Unlock()
	if session == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	form := url.Values{"devKey": {c.cfg.DevKey}, "sessionId": {session}}
	_, err := c.post(ctx, "Logout.json", form)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == codeSessionInvalid {
		err = nil // already gone: logging out is done either way
	}
	if err == nil {
		c.logf("logged out")
	}
	return err
}

// currentSession returns the session to use and its generation, logging
// in first if there is none. Concurrent callers share one login.
func (c *Client) currentSession(ctx context.Context) (string, uint64, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return "", 0, ErrClosed
	}
	if c.session != "" {
		s, g := c.session, c.gen
		c.mu.Unlock()
		return s, g, nil
	}
	f := c.flight
	if f == nil {
		f = &loginFlight{done: make(chan struct{})}
		c.flight = f
		go c.login(f)
	}
	c.mu.Unlock()

	select {
	case <-f.done:
		return f.session, f.gen, f.err
	case <-ctx.Done():
		return "", 0, fmt.Errorf("goclient: waiting for login: %w", ctx.Err())
	}
}

// login runs one login for f. It runs on its own goroutine, bounded by
// the HTTP client's timeout and closeTimeout, so that one caller giving up
// does not fail the others waiting for the same login.
func (c *Client) login(f *loginFlight) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	form := url.Values{
		"userName": {c.cfg.UserName},
		"password": {c.cfg.Password},
		"orgId":    {c.cfg.OrgID},
		"devKey":   {c.cfg.DevKey},
	}
	data, err := c.post(ctx, "Login.json", form)
	var session string
	if err == nil {
		var answer struct {
			SessionID string `json:"sessionId"`
		}
		if json.Unmarshal(data, &answer) != nil || answer.SessionID == "" {
			err = &APIError{Op: "Login.json", Message: "login answer has no sessionId", kind: KindAuth}
		}
		session = answer.SessionID
	}

	c.mu.Lock()
	orphan := ""
	if err == nil && !c.closed {
		c.gen++
		c.session = session
		f.session, f.gen = session, c.gen
	} else if err == nil {
		orphan, err = session, ErrClosed
	}
	f.err = err
	c.flight = nil
	gen := c.gen
	c.mu.Unlock()
	if orphan != "" {
		// Close ran while we logged in: end the session nobody will use.
		c.post(ctx, "Logout.json", url.Values{"devKey": {c.cfg.DevKey}, "sessionId": {orphan}})
	}

	// Log before waking the waiters: once they return, the caller may
	// reuse or close the writer.
	if err != nil {
		c.logf("login failed: %v", err)
	} else {
		c.logf("logged in (login #%d)", gen)
	}
	close(f.done)
}

// drop forgets the session of generation gen. A failure seen on an older
// session does not drop a newer one another caller already obtained, so
// concurrent callers hit by one expiry cause one login, not several.
func (c *Client) drop(gen uint64) {
	c.mu.Lock()
	if c.gen == gen {
		c.session = ""
	}
	c.mu.Unlock()
}

// post sends one form-encoded POST and decodes the v2 envelope.
func (c *Client) post(ctx context.Context, path string, form url.Values) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/"+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, &APIError{Op: path, Message: "building request", kind: KindTransport, err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, &APIError{Op: path, Message: "request failed", kind: KindTransport, err: scrubURLError(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, &APIError{Op: path, Message: "reading answer", kind: KindTransport, err: err}
	}
	return decode(path, resp.StatusCode, body)
}

// envelope is the v2 answer: response_status 0 with the result in
// response_data, or 1 with error_code and error_message there.
type envelope struct {
	Status  *int            `json:"response_status"`
	Message string          `json:"response_message"`
	Data    json.RawMessage `json:"response_data"`
}

// decode turns an HTTP answer into the result or an *APIError. Every
// answer that is not a success envelope is an error, whatever its HTTP
// status: v2 reports errors with HTTP 200.
func decode(path string, status int, body []byte) (json.RawMessage, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil || env.Status == nil {
		return nil, &APIError{Op: path, HTTPStatus: status, Message: fmt.Sprintf("unexpected answer (HTTP %d)", status), kind: KindTransport}
	}
	if *env.Status == 0 && status == http.StatusOK {
		return env.Data, nil
	}
	var e struct {
		Code    string `json:"error_code"`
		Message string `json:"error_message"`
	}
	_ = json.Unmarshal(env.Data, &e)
	if e.Code == "" {
		return nil, &APIError{Op: path, HTTPStatus: status, Message: fmt.Sprintf("error answer without a code (HTTP %d)", status), kind: KindAPI}
	}
	return nil, &APIError{Op: path, HTTPStatus: status, ErrorCode: e.Code, Message: e.Message}
}

// scrubURLError drops the URL from a *url.Error. Ours never carries a
// secret, but a transport error need not name the endpoint twice.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (c *Client) logf(format string, args ...any) {
	if c.cfg.Log == nil {
		return
	}
	c.logMu.Lock()
	defer c.logMu.Unlock()
	fmt.Fprintf(c.cfg.Log, "goclient: "+format+"\n", args...)
}
