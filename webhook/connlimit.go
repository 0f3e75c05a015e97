package webhook

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// minIdleToEvict is how long a connection must have been idle for a new one to take
// its place at the cap.
const minIdleToEvict = time.Second

// connLimitListener holds at most max connections open. At the cap, a new connection
// takes the place of a keep-alive one idle for minIdleToEvict or more, closed for it;
// with none, the new connection is closed at once, before its TLS handshake costs a
// core anything. Connections idle for less are in use: a client at a high rate reuses
// each every few milliseconds, and closing them would only make it open new ones, each
// a handshake, as ward is short of CPU already.
//
// Reviews are bounded by Endpoint, but a connection costs memory (TLS and bufio
// buffers, a goroutine) whether or not it carries a review, and a client that times
// out requests and opens new connections, as an open-loop load generator does, can
// open thousands while ward is starved of CPU: measured, 7,600 connections and 1.5 GB
// at 2,000 reviews/s. The API server opens one connection per review in flight (HTTP/1.1)
// and keeps some idle; a cap well above the reviews in flight costs it nothing, and
// at the cap it is told at once rather than left to time out.
type connLimitListener struct {
	net.Listener
	max int
	log logr.Logger
	// onRefuse and onEvict count; nil to count nothing.
	onRefuse, onEvict func()

	mu   sync.Mutex
	open int
	// idle holds the open connections waiting for their next request, and since when.
	// One the client reuses at the very moment it is closed loses its request (the
	// client sees the connection close); that happens only at the cap.
	idle map[*limitedConn]time.Time

	refused refusals
}

func newConnLimitListener(ln net.Listener, limit int, log logr.Logger, onRefuse, onEvict func()) *connLimitListener {
	return &connLimitListener{Listener: ln, max: limit, log: log, onRefuse: onRefuse, onEvict: onEvict, idle: map[*limitedConn]time.Time{}}
}

// Accept returns the next connection that fits under the cap.
func (l *connLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if l.open < l.max {
			l.open++
			l.mu.Unlock()
			return &limitedConn{Conn: c, l: l}, nil
		}
		var evict *limitedConn
		var oldest time.Time
		for ic, since := range l.idle {
			if evict == nil || since.Before(oldest) {
				evict, oldest = ic, since
			}
		}
		if evict != nil && time.Since(oldest) >= minIdleToEvict {
			// The new connection takes the evicted one's place now; the eviction's
			// Close gives back a place it no longer holds.
			delete(l.idle, evict)
			evict.evicted = true
			l.mu.Unlock()
			_ = evict.Close()
			if l.onEvict != nil {
				l.onEvict()
			}
			return &limitedConn{Conn: c, l: l}, nil
		}
		l.mu.Unlock()
		_ = c.Close()
		l.refuse()
	}
}

// full reports whether a new connection would be refused.
func (l *connLimitListener) full() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open < l.max {
		return false
	}
	for _, since := range l.idle {
		if time.Since(since) >= minIdleToEvict {
			return false
		}
	}
	return true
}

// refuse counts a refused connection and logs at most every overloadLogEvery.
func (l *connLimitListener) refuse() {
	if l.onRefuse != nil {
		l.onRefuse()
	}
	if kv, ok := l.refused.add(int64(l.max)); ok {
		l.log.Info("refusing connections: too many open, none idle", kv...)
	}
}

// connState is the http.Server's ConnState hook: it keeps track of which connections
// are idle, the ones a new connection may take the place of.
func (l *connLimitListener) connState(c net.Conn, state http.ConnState) {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return
	}
	lc, ok := tc.NetConn().(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if lc.closed {
		return
	}
	switch state {
	case http.StateIdle:
		l.idle[lc] = time.Now()
	default:
		delete(l.idle, lc)
	}
}

// limitedConn gives its place back when closed, once.
type limitedConn struct {
	net.Conn
	l *connLimitListener
	// closed and evicted are guarded by l.mu.
	closed, evicted bool
}

func (c *limitedConn) Close() error {
	c.l.mu.Lock()
	if !c.closed {
		c.closed = true
		delete(c.l.idle, c)
		if !c.evicted {
			c.l.open--
		}
	}
	c.l.mu.Unlock()
	err := c.Conn.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
