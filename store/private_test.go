package store

import (
	"os"
	"path/filepath"
	"testing"
)

// TestOpenMakesTheDataDirPrivate: a data dir made world-readable by hand is
// closed to everyone but its owner when the store opens it.
func TestOpenMakesTheDataDirPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	st := open(t, dir, nil)
	defer st.Close()
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o700 {
		t.Fatalf("data dir mode %v after Open; want 0700", info.Mode().Perm())
	}
}
