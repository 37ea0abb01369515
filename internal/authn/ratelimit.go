package authn

import (
	"sync"
	"time"
)

// LoginLimiter counts failed logins per key (a username, a source address)
// in a fixed window and blocks a key that reached the limit until its
// window ends. It is in memory, per server replica; Limit failures per
// Window per key, and at most MaxKeys keys are tracked (the oldest window
// is dropped first).
type LoginLimiter struct {
	Limit   int
	Window  time.Duration
	MaxKeys int
	Now     func() time.Time

	mu      sync.Mutex
	entries map[string]*limitEntry
}

type limitEntry struct {
	start    time.Time
	failures int
}

// NewLoginLimiter returns a limiter with the given limit and window.
func NewLoginLimiter(limit int, window time.Duration, now func() time.Time) *LoginLimiter {
	if now == nil {
		now = time.Now
	}
	return &LoginLimiter{Limit: limit, Window: window, MaxKeys: 100_000, Now: now, entries: map[string]*limitEntry{}}
}

// Blocked returns how long key must wait, or 0 if it may try now.
func (l *LoginLimiter) Blocked(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.current(key, false)
	if e == nil || e.failures < l.Limit {
		return 0
	}
	wait := e.start.Add(l.Window).Sub(l.Now())
	if wait < time.Second {
		wait = time.Second
	}
	return wait
}

// Attempt counts an attempt of key as a failure before it is made, so
// that concurrent attempts cannot all pass a check made before any of them
// failed. It returns how long key must wait (and counts nothing) when key
// is blocked, else 0. A successful attempt is taken back with Succeed or
// Forgive.
func (l *LoginLimiter) Attempt(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.current(key, false); e != nil && e.failures >= l.Limit {
		return max(e.start.Add(l.Window).Sub(l.Now()), time.Second)
	}
	l.current(key, true).failures++
	return 0
}

// Forgive takes back one attempt of key counted by Attempt.
func (l *LoginLimiter) Forgive(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.current(key, false); e != nil && e.failures > 0 {
		e.failures--
	}
}

// Fail records a failed attempt of key.
func (l *LoginLimiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.current(key, true).failures++
}

// Succeed forgets key's failures.
func (l *LoginLimiter) Succeed(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, key)
}

// current returns key's entry in the running window, creating it if create.
func (l *LoginLimiter) current(key string, create bool) *limitEntry {
	now := l.Now()
	e := l.entries[key]
	if e != nil && now.Sub(e.start) >= l.Window {
		delete(l.entries, key)
		e = nil
	}
	if e == nil && create {
		if len(l.entries) >= l.MaxKeys {
			l.evict(now)
		}
		e = &limitEntry{start: now}
		l.entries[key] = e
	}
	return e
}

// evict drops expired windows, and the oldest one if none expired.
func (l *LoginLimiter) evict(now time.Time) {
	var oldestKey string
	var oldest time.Time
	for k, e := range l.entries {
		if now.Sub(e.start) >= l.Window {
			delete(l.entries, k)
			continue
		}
		if oldestKey == "" || e.start.Before(oldest) {
			oldestKey, oldest = k, e.start
		}
	}
	if len(l.entries) >= l.MaxKeys {
		delete(l.entries, oldestKey)
	}
}
