package httptrust

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// server, transport and watcher a test starts must be stopped by the test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
