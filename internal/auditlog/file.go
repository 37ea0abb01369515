package auditlog

import (
	"fmt"
	"os"
	"sync"
)

// File is an audit log file that rotates by size: when a write would take
// it past maxBytes, PATH becomes PATH.1 (PATH.1 becomes PATH.2, and so on,
// keeping backups of them) and a new PATH starts. Files are created
// readable by their owner only: audit lines name users and paths.
type File struct {
	path     string
	maxBytes int64
	backups  int

	mu   sync.Mutex
	f    *os.File
	size int64
}

// OpenFile opens (appending) or creates the audit log at path.
func OpenFile(path string, maxBytes int64, backups int) (*File, error) {
	if maxBytes <= 0 || backups < 0 {
		return nil, fmt.Errorf("audit log rotation: the size must be positive and the backups not negative")
	}
	l := &File{path: path, maxBytes: maxBytes, backups: backups}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *File) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("failed to open the audit log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("failed to open the audit log: %w", err)
	}
	l.f, l.size = f, st.Size()
	return nil
}

// Write appends p (one JSON line), rotating first when it would not fit.
// A line longer than the limit goes into a file of its own.
func (l *File) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, os.ErrClosed
	}
	if l.size > 0 && l.size+int64(len(p)) > l.maxBytes {
		if err := l.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

// rotate shifts the backups and starts a new file.
func (l *File) rotate() error {
	if err := l.f.Close(); err != nil {
		return err
	}
	l.f = nil
	if l.backups == 0 {
		if err := os.Remove(l.path); err != nil && !os.IsNotExist(err) {
			return err
		}
		return l.open()
	}
	for i := l.backups - 1; i >= 1; i-- {
		if err := os.Rename(fmt.Sprintf("%s.%d", l.path, i), fmt.Sprintf("%s.%d", l.path, i+1)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		return err
	}
	return l.open()
}

// Close closes the file; later writes fail.
func (l *File) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
