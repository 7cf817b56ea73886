//go:build unix

package train

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockFile in a run directory is held (flock) by the one process writing
// it. The kernel drops the lock when that process dies, however it dies, so
// a lock left behind by a dead process is simply taken over.
const lockFile = "run.lock"

// runLock is a held lock on a run directory.
type runLock struct{ f *os.File }

// lockRunDir takes dir's lock or says who holds it.
func lockRunDir(dir string) (*runLock, error) {
	path := filepath.Join(dir, lockFile)
	// O_NOFOLLOW: a run.lock that is a symbolic link is refused, never
	// followed to truncate and write whatever it points at
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o644)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("--out %s: %s is a symbolic link; normtap does not follow it: remove it, or choose another --out", dir, lockFile)
	}
	if err != nil {
		return nil, fmt.Errorf("--out %s: cannot create %s: %w", dir, lockFile, err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("--out %s: %s is not a regular file: remove it, or choose another --out", dir, lockFile)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := strings.TrimSpace(string(b[:n]))
			if holder == "" {
				holder = "another process"
			} else {
				holder = "process " + holder
			}
			return nil, fmt.Errorf("--out %s is in use by %s (a training run is writing it); wait for it or choose another --out", dir, holder)
		}
		return nil, fmt.Errorf("--out %s: lock %s: %w", dir, path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &runLock{f: f}, nil
}

// release lets the next writer in. The file stays: removing it would race
// with a process that has just opened it.
func (l *runLock) release() {
	if l != nil && l.f != nil {
		syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
		l.f.Close()
	}
}
