// Whoami logs in to a Bill.com v2 API, prints where the server says the
// API is (apiEndPoint) and which organization the session belongs to, and
// logs out. In the compose example it is the one-shot client that shows
// the fake is reached by its service name.
//
// Usage:
//
//	whoami [-resolve HOST:PORT=ADDR:PORT]
//
// Where to connect and the credentials come from the environment, never
// from arguments:
//
//	FAKEBILL_URL        the v2 base URL, such as http://fakebill:8080/api/v2
//	FAKEBILL_USER_NAME  FAKEBILL_PASSWORD  FAKEBILL_ORG_ID  FAKEBILL_DEV_KEY
//
// -resolve dials ADDR:PORT for HOST:PORT while the request keeps the name,
// as curl's --resolve does. Output, on success:
//
//	url: http://fakebill:8080/api/v2
//	apiEndPoint: http://fakebill:8080/api/v2
//	orgId: 00800000000000000001
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("whoami", flag.ContinueOnError)
	fs.SetOutput(stderr)
	resolve := fs.String("resolve", "", "connect to `HOST:PORT=ADDR:PORT` instead")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	base := strings.TrimRight(getenv("FAKEBILL_URL"), "/")
	if base == "" {
		fmt.Fprintln(stderr, "whoami: FAKEBILL_URL must be set")
		return 2
	}
	hc, err := httpClient(*resolve)
	if err != nil {
		fmt.Fprintln(stderr, "whoami: -resolve:", err)
		return 2
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var login struct {
		SessionID   string `json:"sessionId"`
		OrgID       string `json:"orgId"`
		APIEndPoint string `json:"apiEndPoint"`
	}
	err = post(ctx, hc, base+"/Login.json", url.Values{
		"userName": {getenv("FAKEBILL_USER_NAME")},
		"password": {getenv("FAKEBILL_PASSWORD")},
		"orgId":    {getenv("FAKEBILL_ORG_ID")},
		"devKey":   {getenv("FAKEBILL_DEV_KEY")},
	}, &login)
	if err != nil {
		fmt.Fprintln(stderr, "whoami: login:", err)
		return 1
	}
	fmt.Fprintf(stdout, "url: %s\napiEndPoint: %s\norgId: %s\n", base, login.APIEndPoint, login.OrgID)

	err = post(ctx, hc, base+"/Logout.json", url.Values{
		"devKey":    {getenv("FAKEBILL_DEV_KEY")},
		"sessionId": {login.SessionID},
	}, nil)
	if err != nil {
		fmt.Fprintln(stderr, "whoami: logout:", err)
		return 1
	}
	return 0
}

// httpClient returns a client that dials to for from, if resolve says so.
func httpClient(resolve string) (*http.Client, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if resolve != "" {
		from, to, ok := strings.Cut(resolve, "=")
		if !ok {
			return nil, errors.New("want HOST:PORT=ADDR:PORT")
		}
		var d net.Dialer
		t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == from {
				addr = to
			}
			return d.DialContext(ctx, network, addr)
		}
	}
	// A redirect is answered as it is: v2 never sends one, and following
	// it would send the form, credentials included, elsewhere.
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &http.Client{Transport: t, CheckRedirect: noRedirect}, nil
}

// post sends form in a POST body and decodes the v2 answer's
// response_data into out (if not nil). Errors carry the BDC code and the
// service's message, never a form value.
func post(ctx context.Context, hc *http.Client, u string, form url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return err
	}
	defer resp.Body.Close()
	var env struct {
		Status int             `json:"response_status"`
		Data   json.RawMessage `json:"response_data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("HTTP %d: not a v2 answer", resp.StatusCode)
	}
	if env.Status != 0 {
		var e struct {
			Code    string `json:"error_code"`
			Message string `json:"error_message"`
		}
		_ = json.Unmarshal(env.Data, &e)
		return fmt.Errorf("%s: %s", e.Code, e.Message)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(env.Data, out)
}
