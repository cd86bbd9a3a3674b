package conformance_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/fakebill/toolkit/conformance"
)

// fault switches one wrong behaviour on in a zoo client. Each is a way
// real clients get sessions or secrets wrong.
type fault int

const (
	correct               fault = iota
	secretsInQuery              // sessionId and devKey in the query string
	loginInQuery                // Login's credentials also in the query string
	logPasswordPrefix           // logs the password's first 5 characters
	logRequestURL               // debug log renders Login as url?userName=...&password=...
	sessionInError              // error messages name the session id
	envelopeAsData              // an HTTP 200 error envelope is returned as the result
	neverRelogin                // logs in once, forever
	timerOnly                   // re-logs in every 30 minutes of its own, ignores BDC_1109
	statusOnly                  // expects expiry as HTTP 401/403, which v2 never sends
	overBroad                   // re-logs in on any message mentioning "session" and on BDC_1102
	noPostReplay                // replays reads only, so a create fails after expiry
	replayWithoutData           // replays without the data field
	everyCallerLogsIn           // concurrent callers each log in after one expiry
	loginEveryCall              // logs in before every call
	eagerLogin                  // logs in at construction and again on the first call
	credentialsEveryCall        // sends userName and password with every call
	unboundedRelogin            // re-logs in and replays for as long as BDC_1109 comes
	staleAfterError             // keeps a session after the replay was refused too
	uncheckedLogin              // takes whatever sessionId Login answered, even none
	loginErrorNoCode            // reports a refused login as a bare "login failed"
	rateLimitAsSession          // re-logs in on BDC_1322 and BDC_1144
	retryRateLimitForever       // retries rate-limited calls without bound
	hangOnRateLimit             // blocks on BDC_1322 until closed, ignoring its context
	panicOnHTTPError            // panics on a non-envelope HTTP answer
	noLogout                    // Close does not log out
	refererLeak                 // sends a Referer whose query carries the session
	retryLoginForever           // retries a refused login until its context ends
	proactiveNoPostReplay       // refreshes at 34 idle minutes, but reports a create that meets BDC_1109 as a refused login
	listOrgsEveryCall           // calls ListOrgs, with the password, before every call
	logPasswordTail             // logs the password's last 6 characters as a hint
	logSessionOnRateLimit       // logs the session id, base64-encoded, on a rate-limit answer
	basicAuthEveryCall          // sends Authorization: Basic user:password with every call
	passwordUnderOtherKey       // sends the password with every call as form field "pass"
	cookieSession               // sends the session as cookie sid (conformant)
	multipartBody               // sends multipart/form-data bodies (conformant)
	proactive34                 // refreshes at 34 idle minutes, as BILL's sample (conformant)
)

// zooClient is a small v2 client that is conformant unless its fault says
// otherwise. It is safe for concurrent use.
type zooClient struct {
	fault fault
	env   conformance.Env

	loginMu sync.Mutex // one login at a time, unless everyCallerLogsIn

	mu      sync.Mutex
	session string
	have    bool // a session is held, even an empty one (uncheckedLogin)
	gen     int
	loginAt time.Time
	lastUse time.Time
	called  bool // Call has run before

	closeOnce sync.Once
	closed    chan struct{}
}

// zooError is the zoo's error: a code, when the server gave one, in text.
type zooError struct {
	code, msg string
	status    int
}

func (e *zooError) Error() string {
	if e.code == "" {
		return "zoo: " + e.msg
	}
	return "zoo: " + e.code + ": " + e.msg
}

func newZoo(f fault) func(env conformance.Env) (conformance.Client, error) {
	return func(env conformance.Env) (conformance.Client, error) {
		c := &zooClient{fault: f, env: env, closed: make(chan struct{})}
		if f == eagerLogin {
			if _, _, err := c.login(context.Background()); err != nil {
				return nil, err
			}
		}
		return c, nil
	}
}

func (c *zooClient) now() time.Time {
	if c.env.Clock != nil {
		return c.env.Clock.Now()
	}
	return time.Now()
}

func (c *zooClient) logf(format string, args ...any) {
	fmt.Fprintf(c.env.Log, format+"\n", args...)
}

func (c *zooClient) Call(ctx context.Context, path string, data any) (json.RawMessage, error) {
	var dataJSON string
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return nil, err
		}
		dataJSON = string(b)
	}

	c.mu.Lock()
	again := c.fault == eagerLogin && !c.called
	c.called = true
	stale := again || c.session != "" &&
		(c.fault == timerOnly && c.now().Sub(c.loginAt) >= 30*time.Minute ||
			(c.fault == proactive34 || c.fault == proactiveNoPostReplay) && c.now().Sub(c.lastUse) >= 34*time.Minute)
	c.mu.Unlock()
	if stale || c.fault == loginEveryCall {
		if _, _, err := c.login(ctx); err != nil {
			return nil, err
		}
	}

	session, gen, err := c.current(ctx)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		d := dataJSON
		if attempt > 0 && c.fault == replayWithoutData {
			d = ""
		}
		result, err := c.post(ctx, path, session, d)
		if err == nil {
			c.mu.Lock()
			c.lastUse = c.now()
			c.mu.Unlock()
			return result, nil
		}
		var ze *zooError
		if !errors.As(err, &ze) || ctx.Err() != nil {
			return nil, err
		}
		if (ze.code == "BDC_1322" || ze.code == "BDC_1144") && c.fault == logSessionOnRateLimit {
			c.logf("rate limited; session %s", base64.StdEncoding.EncodeToString([]byte(session)))
		}
		if ze.code == "BDC_1109" && c.fault == proactiveNoPostReplay && strings.Contains(path, "/Create/") {
			return nil, &zooError{code: "BDC_1101", msg: "credentials rejected"}
		}
		if ze.code == "BDC_1322" && c.fault == hangOnRateLimit {
			<-c.closed
			return nil, err
		}
		if (ze.code == "BDC_1322" || ze.code == "BDC_1144") && c.fault == retryRateLimitForever {
			continue
		}
		relogin := c.sessionGone(ze, path)
		if relogin && (attempt == 0 || c.fault == unboundedRelogin) {
			if c.fault == everyCallerLogsIn {
				session, gen, err = c.login(ctx)
			} else {
				c.drop(gen)
				session, gen, err = c.current(ctx)
			}
			if err != nil {
				return nil, err
			}
			continue
		}
		if relogin && c.fault != staleAfterError {
			c.drop(gen)
		}
		return nil, err
	}
}

// sessionGone decides whether an error means "log in again".
func (c *zooClient) sessionGone(e *zooError, path string) bool {
	switch c.fault {
	case neverRelogin, timerOnly:
		return false
	case statusOnly:
		return e.status == http.StatusUnauthorized || e.status == http.StatusForbidden
	case overBroad:
		return strings.Contains(strings.ToLower(e.msg), "session") || e.code == "BDC_1102"
	case rateLimitAsSession:
		return e.code == "BDC_1109" || e.code == "BDC_1322" || e.code == "BDC_1144"
	case noPostReplay:
		return e.code == "BDC_1109" && strings.Contains(path, "/Read/")
	}
	return e.code == "BDC_1109"
}

// current returns the session, logging in first if there is none. Logins
// are serialized and the generation compared, so callers waiting on one
// login reuse it.
func (c *zooClient) current(ctx context.Context) (string, int, error) {
	c.mu.Lock()
	s, g, have := c.session, c.gen, c.have
	c.mu.Unlock()
	if have {
		return s, g, nil
	}
	return c.loginAfter(ctx, g)
}

func (c *zooClient) loginAfter(ctx context.Context, seen int) (string, int, error) {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	c.mu.Lock()
	if c.gen != seen && c.have {
		s, g := c.session, c.gen
		c.mu.Unlock()
		return s, g, nil
	}
	c.mu.Unlock()
	return c.loginLocked(ctx)
}

func (c *zooClient) login(ctx context.Context) (string, int, error) {
	if c.fault == everyCallerLogsIn {
		return c.loginLocked(ctx)
	}
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	return c.loginLocked(ctx)
}

func (c *zooClient) drop(gen int) {
	c.mu.Lock()
	if c.gen == gen {
		c.session, c.have = "", false
	}
	c.mu.Unlock()
}

func (c *zooClient) loginLocked(ctx context.Context) (string, int, error) {
	form := url.Values{
		"userName": {c.env.UserName}, "password": {c.env.Password},
		"orgId": {c.env.OrgID}, "devKey": {c.env.DevKey},
	}
	switch c.fault {
	case logPasswordPrefix:
		c.logf("logging in as user with password %s***", c.env.Password[:5])
	case logPasswordTail:
		c.logf("logging in with password ***%s", c.env.Password[len(c.env.Password)-6:])
	case logRequestURL:
		c.logf("POST %s/Login.json?%s", c.env.BaseURL, form.Encode())
	}
	target := c.env.BaseURL + "/Login.json"
	if c.fault == loginInQuery {
		target += "?" + form.Encode()
	}
	body, status, err := c.send(ctx, target, form, "")
	if err != nil {
		return "", 0, err
	}
	if c.fault == retryLoginForever && ctx.Err() == nil && strings.Contains(string(body), "BDC_1101") {
		return c.loginLocked(ctx)
	}
	var env struct {
		Status int `json:"response_status"`
		Data   struct {
			SessionID string `json:"sessionId"`
			Code      string `json:"error_code"`
			Message   string `json:"error_message"`
		} `json:"response_data"`
	}
	if json.Unmarshal(body, &env) != nil {
		return "", 0, &zooError{msg: fmt.Sprintf("login: HTTP %d", status), status: status}
	}
	if c.fault != uncheckedLogin && c.fault != envelopeAsData {
		switch {
		case env.Status != 0 && c.fault == loginErrorNoCode:
			return "", 0, errors.New("login failed")
		case env.Status != 0:
			return "", 0, &zooError{code: env.Data.Code, msg: env.Data.Message, status: status}
		case env.Data.SessionID == "":
			return "", 0, &zooError{msg: "login answer has no sessionId", status: status}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.session, c.have = env.Data.SessionID, true
	c.gen++
	c.loginAt, c.lastUse = c.now(), c.now()
	return c.session, c.gen, nil
}

// post sends one call and decodes the answer.
func (c *zooClient) post(ctx context.Context, path, session, data string) (json.RawMessage, error) {
	form := url.Values{"devKey": {c.env.DevKey}}
	target := c.env.BaseURL + "/" + path
	cookie := ""
	switch c.fault {
	case secretsInQuery:
		target += "?" + url.Values{"sessionId": {session}, "devKey": {c.env.DevKey}}.Encode()
	case cookieSession:
		cookie = session
	default:
		form.Set("sessionId", session)
	}
	if c.fault == listOrgsEveryCall && path != "Logout.json" {
		orgs := url.Values{"userName": {c.env.UserName}, "password": {c.env.Password}, "devKey": {c.env.DevKey}}
		if _, _, err := c.send(ctx, c.env.BaseURL+"/ListOrgs.json", orgs, ""); err != nil {
			return nil, err
		}
	}
	if c.fault == passwordUnderOtherKey {
		form.Set("pass", c.env.Password)
	}
	if c.fault == credentialsEveryCall {
		form.Set("userName", c.env.UserName)
		form.Set("password", c.env.Password)
	}
	if data != "" {
		form.Set("data", data)
	}
	body, status, err := c.send(ctx, target, form, cookie)
	if err != nil {
		return nil, err
	}
	var env struct {
		Status *int            `json:"response_status"`
		Data   json.RawMessage `json:"response_data"`
	}
	if json.Unmarshal(body, &env) != nil || env.Status == nil {
		if c.fault == panicOnHTTPError {
			panic(fmt.Sprintf("unexpected HTTP %d", status))
		}
		return nil, &zooError{msg: fmt.Sprintf("HTTP %d", status), status: status}
	}
	if *env.Status == 0 || c.fault == envelopeAsData {
		return env.Data, nil
	}
	var e struct {
		Code    string `json:"error_code"`
		Message string `json:"error_message"`
	}
	json.Unmarshal(env.Data, &e)
	ze := &zooError{code: e.Code, msg: e.Message, status: status}
	if c.fault == sessionInError {
		ze.msg += " (session " + session + ")"
	}
	return nil, ze
}

func (c *zooClient) send(ctx context.Context, target string, form url.Values, cookie string) ([]byte, int, error) {
	body, contentType := strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
	if c.fault == multipartBody {
		var b strings.Builder
		mw := multipart.NewWriter(&b)
		for k, vs := range form {
			for _, v := range vs {
				mw.WriteField(k, v)
			}
		}
		mw.Close()
		body, contentType = strings.NewReader(b.String()), mw.FormDataContentType()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, body)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", contentType)
	if c.fault == refererLeak && form.Get("sessionId") != "" {
		req.Header.Set("Referer", c.env.BaseURL+"/ui?sessionId="+form.Get("sessionId"))
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "sid", Value: cookie})
	}
	if c.fault == basicAuthEveryCall {
		req.SetBasicAuth(c.env.UserName, c.env.Password)
	}
	resp, err := c.env.HTTPClient.Do(req)
	if err != nil {
		return nil, 0, &zooError{msg: "transport failure"}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp.StatusCode, err
}

func (c *zooClient) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	if c.fault == noLogout {
		return nil
	}
	c.mu.Lock()
	s := c.session
	c.session, c.have = "", false
	c.mu.Unlock()
	if s == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.post(ctx, "Logout.json", s, "")
	return err
}
