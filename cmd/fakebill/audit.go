package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fakebill/toolkit/conformance"
	"github.com/fakebill/toolkit/fakebill"
	"github.com/fakebill/toolkit/internal/report"
	"github.com/fakebill/toolkit/internal/version"
)

const auditUsage = `usage: fakebill audit (-journal FILE | -url URL) [flags]

Checks recorded traffic for what traffic alone can show: secrets in URLs,
sessions sent again after the server refused or ended them, login storms
and retry loops. It reads a journal file written by fakebill serve
-journal, or the journal of a running server through its control API
(-url is the server root, such as http://fakebill:8080). The text report
goes to standard output.

Exit status: 0 every enforced check passed; 1 a MUST check failed (or a
SHOULD check under -strict); 2 nothing could be judged (unreadable input,
a journal with a gap or with evicted entries).

Flags:
`

// maxEntryLine bounds one journal line; an entry is small, but its path
// is the request's, and a URL can be long.
const maxEntryLine = 64 << 20

type auditConfig struct {
	reportFlags
	journal    string
	url        string
	adminToken string
	opts       conformance.AuditOptions
}

func parseAudit(args []string, stderr io.Writer) (*auditConfig, error) {
	c := &auditConfig{}
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, auditUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.journal, "journal", "", "read the journal from `file` (JSON lines)")
	fs.StringVar(&c.url, "url", "", "read the journal of the server at this root `URL`")
	fs.StringVar(&c.adminToken, "admin-token", "", "bearer `token` of the server's control API")
	c.register(fs)
	fs.IntVar(&c.opts.LoginStormLogins, "login-storm-logins", conformance.DefaultLoginStormLogins,
		"most logins per account within -login-storm-window")
	fs.DurationVar(&c.opts.LoginStormWindow, "login-storm-window", conformance.DefaultLoginStormWindow,
		"span of server time logins are counted over")
	fs.IntVar(&c.opts.RetryLoopRepeats, "retry-loop-repeats", conformance.DefaultRetryLoopRepeats,
		"most identical failing requests in a row per account")
	fs.IntVar(&c.opts.StaleResends, "stale-resends", 0,
		"requests per dead session to excuse when each was refused with BDC_1109 (a concurrent client's in-flight work); 0: the account's observed concurrency less one; -1: none")
	if err := fs.Parse(args); err != nil {
		return nil, errShown{err}
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case (c.journal == "") == (c.url == ""):
		return nil, errors.New("give exactly one of -journal FILE and -url URL")
	case c.opts.LoginStormLogins <= 0 || c.opts.LoginStormWindow <= 0 || c.opts.RetryLoopRepeats <= 0:
		return nil, errors.New("thresholds must be positive")
	case c.opts.StaleResends < -1:
		return nil, errors.New("-stale-resends must be -1 or more")
	}
	c.opts.Only, c.opts.Skip = ids(c.only), ids(c.skip)
	return c, nil
}

// runAudit judges a recorded journal and returns the exit status.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseAudit(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		if !errors.As(err, new(errShown)) {
			fmt.Fprintf(stderr, "fakebill audit: %v\n", err)
		}
		return 2
	}
	var baseline []string
	if c.baseline != "" {
		if baseline, err = report.ReadBaseline(c.baseline, conformance.Checks()); err != nil {
			fmt.Fprintf(stderr, "fakebill audit: %v\n", err)
			return 2
		}
	}

	var entries []fakebill.Entry
	if c.journal != "" {
		entries, err = readJournalFile(c.journal)
	} else {
		entries, err = fetchJournal(ctx, c.url, c.adminToken)
	}
	if err == nil {
		err = checkWhole(entries)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fakebill audit: %v\n", err)
		return 2
	}
	results, err := conformance.Audit(entries, &c.opts)
	if err != nil {
		fmt.Fprintf(stderr, "fakebill audit: %v\n", err)
		return 2
	}
	rep := &report.Report{
		Tool: version.Tool, Catalog: conformance.CatalogVersion, Suite: "audit",
		Results: results,
	}
	return c.writeReports(rep, baseline, stdout, stderr)
}

// readJournalFile reads JSON lines of journal entries; blank lines are
// skipped.
func readJournalFile(name string) ([]fakebill.Entry, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("reading the journal: %w", err)
	}
	defer f.Close()
	return parseJournal(f, name)
}

func parseJournal(r io.Reader, name string) ([]fakebill.Entry, error) {
	var entries []fakebill.Entry
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, maxEntryLine)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e fakebill.Entry
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("%s:%d: not a journal entry: %v", name, n, err)
		}
		if e.V != fakebill.EntryVersion {
			return nil, fmt.Errorf("%s:%d: journal entry version %d; this release reads version %d", name, n, e.V, fakebill.EntryVersion)
		}
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: reading the journal: %w", name, err)
	}
	return entries, nil
}

// checkWhole sorts entries by seq and refuses a journal that cannot be
// judged: empty, with a repeated seq, or with a gap.
func checkWhole(entries []fakebill.Entry) error {
	if len(entries) == 0 {
		return errors.New("the journal is empty: nothing to judge")
	}
	slices.SortStableFunc(entries, func(a, b fakebill.Entry) int { return cmp.Compare(a.Seq, b.Seq) })
	for i := 1; i < len(entries); i++ {
		prev, seq := entries[i-1].Seq, entries[i].Seq
		switch {
		case seq == prev:
			return fmt.Errorf("the journal holds seq %d twice; was it written by two servers?", seq)
		case seq != prev+1:
			return fmt.Errorf("the journal has a gap: seq %d to %d missing (a lost entry or a request still in flight)", prev+1, seq-1)
		}
	}
	return nil
}

// fetchJournal reads a running server's whole journal through its control
// API, page by page.
func fetchJournal(ctx context.Context, root, token string) ([]fakebill.Entry, error) {
	u, err := url.Parse(strings.TrimRight(root, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("-url %q: want the server root, such as http://127.0.0.1:8080", root)
	}
	// TODO(fakebill): a server run with -tls and a self-signed certificate
	// cannot be audited over https yet; audit its -journal file instead.
	hc := &http.Client{
		Timeout: 30 * time.Second,
		// No proxy from the environment: the server is named directly,
		// and a redirect would be the wrong server.
		Transport:     &http.Transport{Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer hc.CloseIdleConnections()
	var all []fakebill.Entry
	var since int64
	for {
		page, dropped, err := journalPage(ctx, hc, u.String(), token, since)
		if err != nil {
			return nil, err
		}
		if dropped > 0 {
			return nil, fmt.Errorf("the journal has evicted entries (%d dropped from the ring): "+
				"audit the -journal file, or raise -journal-size", dropped)
		}
		if len(page) == 0 || page[len(page)-1].Seq <= since {
			return all, nil
		}
		all = append(all, page...)
		since = page[len(page)-1].Seq
	}
}

func journalPage(ctx context.Context, hc *http.Client, root, token string,
	since int64) ([]fakebill.Entry, int64, error) {
	target := root + "/_fakebill/journal?since=" + strconv.FormatInt(since, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("reading the journal: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
	if err != nil {
		return nil, 0, fmt.Errorf("reading the journal: %w", err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden:
		return nil, 0, fmt.Errorf("reading the journal: HTTP %d: the control API wants -admin-token", resp.StatusCode)
	case http.StatusNotFound:
		return nil, 0, errors.New("reading the journal: HTTP 404: is this a fakebill server root, with the control API on?")
	default:
		return nil, 0, fmt.Errorf("reading the journal: HTTP %d", resp.StatusCode)
	}
	var ans struct {
		Entries *[]fakebill.Entry `json:"entries"`
		Dropped int64             `json:"dropped"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || ans.Entries == nil {
		return nil, 0, errors.New("reading the journal: the answer is not a fakebill journal")
	}
	for _, e := range *ans.Entries {
		if e.V != fakebill.EntryVersion {
			return nil, 0, fmt.Errorf("reading the journal: entry version %d; this release reads version %d", e.V, fakebill.EntryVersion)
		}
	}
	return *ans.Entries, ans.Dropped, nil
}
