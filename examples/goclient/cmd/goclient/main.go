// Goclient calls one Bill.com v2 operation and prints its result.
//
// Usage:
//
//	goclient call PATH [DATA-JSON]
//
// PATH is the operation, such as Crud/Read/Vendor.json; DATA-JSON, if
// given, is sent as the data field. The result (response_data) is printed
// on stdout as JSON. The client logs in first and logs out at the end.
//
// Where to connect and the credentials come from the environment, never
// from arguments (which other users can read in the process list):
//
//	FAKEBILL_URL        the v2 base URL, such as http://127.0.0.1:8080/api/v2
//	FAKEBILL_USER_NAME  FAKEBILL_PASSWORD  FAKEBILL_ORG_ID  FAKEBILL_DEV_KEY
//
// # Example
//
// Against a local fakebill serving the demo account:
//
//	$ export FAKEBILL_URL=http://127.0.0.1:8080/api/v2
//	$ export FAKEBILL_USER_NAME=demo@example.com FAKEBILL_PASSWORD=demo-password
//	$ export FAKEBILL_ORG_ID=00800000000000000001 FAKEBILL_DEV_KEY=demo-dev-key
//	$ goclient call GetSessionInfo.json
//	{"organizationId":"00800000000000000001","userId":"00600000000000000001"}
//
// The exit status is 0 on success, 1 when the call fails and 2 on a usage
// error.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/fakebill/toolkit/examples/goclient"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = "usage: goclient call PATH [DATA-JSON]"

// run is the command, with its inputs made explicit so tests can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) < 2 || len(args) > 3 || args[0] != "call" {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	path := args[1]
	var data any
	if len(args) == 3 {
		var raw json.RawMessage
		if err := json.Unmarshal([]byte(args[2]), &raw); err != nil {
			fmt.Fprintf(stderr, "goclient: DATA-JSON is not valid JSON: %v\n", err)
			return 2
		}
		data = raw
	}

	cfg := goclient.Config{
		BaseURL:    getenv("FAKEBILL_URL"),
		UserName:   getenv("FAKEBILL_USER_NAME"),
		Password:   getenv("FAKEBILL_PASSWORD"),
		OrgID:      getenv("FAKEBILL_ORG_ID"),
		DevKey:     getenv("FAKEBILL_DEV_KEY"),
		HTTPClient: &http.Client{Timeout: time.Minute},
		Log:        stderr,
	}
	if cfg.BaseURL == "" {
		fmt.Fprintln(stderr, "goclient: FAKEBILL_URL must be set")
		return 2
	}
	c, err := goclient.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}

	result, err := c.Call(ctx, path, data)
	if cerr := c.Close(); err == nil && cerr != nil {
		fmt.Fprintf(stderr, "goclient: logout: %v\n", cerr)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", result)
	return 0
}
