package conformance_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every check closes its fake, its client's connections and its server:
// no goroutine may outlive the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
