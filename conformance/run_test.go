package conformance_test

import (
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/fakebill/toolkit/conformance"
)

func TestRunReferenceClient(t *testing.T) {
	conformance.Run(t, referenceSubject(), nil)
}

// Inside synctest bubbles the fake reads virtual time, so a client that
// reads time.Now for its own refresh decisions is driven through hours of
// idle time in no wall time.
func TestRunSynctest(t *testing.T) {
	start := time.Now()
	conformance.Run(t, referenceSubject(), &conformance.Options{Synctest: true})
	conformance.Run(t, zooSubject(proactive34, false), &conformance.Options{Synctest: true})
	t.Logf("two clients through the whole catalog in bubbles: %v wall", time.Since(start).Round(time.Millisecond))
}

// Run reports a failing check as a failed subtest named by its id, and a
// missing capability as a skip. The failing run happens in a child
// process, since a failed subtest would fail this test too.
func TestRunReportsFailuresAsSubtests(t *testing.T) {
	if os.Getenv("CONFORMANCE_RUN_CHILD") == "1" {
		s := zooSubject(noLogout, false)
		s.Concurrent = false
		only := []string{"login-once", "logout-on-close", "single-login-on-concurrent-expiry"}
		t.Run("lenient", func(t *testing.T) { conformance.Run(t, s, &conformance.Options{Only: only}) })
		t.Run("strict", func(t *testing.T) { conformance.Run(t, s, &conformance.Options{Only: only, Strict: true}) })
		// In a bubble too, idle time must really pass: a client that never
		// logs in again fails.
		conformance.Run(t, zooSubject(neverRelogin, false), &conformance.Options{Synctest: true, Only: []string{"relogin-after-idle-expiry"}})
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunReportsFailuresAsSubtests$", "-test.v")
	cmd.Env = append(os.Environ(), "CONFORMANCE_RUN_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("child run passed, want it to fail:\n%s", out)
	}
	for _, want := range []string{
		`--- PASS: TestRunReportsFailuresAsSubtests/lenient/login-once`,
		`--- SKIP: TestRunReportsFailuresAsSubtests/lenient/logout-on-close`,
		`not enforced: a SHOULD check`,
		`--- PASS: TestRunReportsFailuresAsSubtests/lenient \(`,
		`--- FAIL: TestRunReportsFailuresAsSubtests/strict/logout-on-close`,
		`logout-on-close \(SHOULD\) failed`,
		`--- SKIP: TestRunReportsFailuresAsSubtests/strict/single-login-on-concurrent-expiry`,
		`--- FAIL: TestRunReportsFailuresAsSubtests/relogin-after-idle-expiry`,
	} {
		if !regexp.MustCompile(want).Match(out) {
			t.Errorf("child output lacks %q:\n%s", want, out)
		}
	}
}
