//go:build unix

package crypt

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestOpenMasterFileRejectsFIFOWithoutHanging(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.json")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, err := OpenMasterFile(path); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("err = %v, want not a regular file", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OpenMasterFile hung on a FIFO")
	}
}
