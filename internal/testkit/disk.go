package testkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// SmallDisk mounts a tmpfs of the given size ("300M") on a new temporary
// directory and returns its path; it is unmounted when the test ends.
// Mounting needs root: without it the test is skipped, or fails when
// CI=true (CI runs as root).
func SmallDisk(t testing.TB, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("this test mounts a tmpfs and needs root")
		}
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// FillDisk writes the file path until its file system is full.
func FillDisk(t testing.TB, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatalf("fill the disk: %v", err)
		}
	}
}

// FillerDrop is the body of POST /api/v1/drops for a drop id with 2,000
// long vouchers: about 400 KB of log a drop, so that a few hundred of them
// fill a small disk.
func FillerDrop(id string) []byte {
	vouchers := make([]string, 2000)
	for i := range vouchers {
		vouchers[i] = fmt.Sprintf("V%06d-%s", i, strings.Repeat("x", 180))
	}
	body, _ := json.Marshal(map[string]any{"id": id, "name": "filler", "stock": 1000, "vouchers": vouchers})
	return body
}
