package e2e

import (
	"os"
	"testing"

	"github.com/floodgate/floodgate/internal/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.RunMain(m)) }
