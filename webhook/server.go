package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
)

// Defaults of ServerOptions.
const (
	DefaultPort              = 9443
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	// DefaultIdleTimeout outlasts the API server's own idle timeout for webhook
	// connections (client-go's transport: 90 s), so that the API server closes an idle
	// connection first and never sends a review on one ward is closing: a POST that
	// fails once sent is not retried, and the failurePolicy decides it.
	DefaultIdleTimeout     = 120 * time.Second
	DefaultShutdownTimeout = 25 * time.Second
	DefaultMaxHeaderBytes  = 64 << 10
)

// DefaultMaxConnections is the cap on open connections for a bound of maxInFlight
// reviews: room for every review in flight and three times as many idle keep-alive
// connections, and never fewer than 256 (the API servers of a cluster keep up to 25
// idle connections each).
func DefaultMaxConnections(maxInFlight int) int { return max(4*maxInFlight, 256) }

// ServerOptions configure the webhook server.
type ServerOptions struct {
	// Host is the address to listen on; "" listens on every address.
	Host string
	// Port is the TCP port; 0 picks a free one (see Addr).
	Port int
	// CertDir holds CertName and KeyName, reloaded when they change.
	CertDir, CertName, KeyName string
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout bound slow clients.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxHeaderBytes bounds request headers. Bodies are bounded by Endpoint
	// (MaxRequestBytes).
	MaxHeaderBytes int
	// MaxConnections caps the open connections (see connLimitListener); 0 means
	// DefaultMaxConnections of DefaultMaxInFlight.
	MaxConnections int
	// Metrics, if set, count the connections shed at the cap.
	Metrics *Metrics
	// ShutdownTimeout bounds the wait for in-flight reviews when the server stops.
	ShutdownTimeout time.Duration
	// Logger receives the server's own errors (TLS handshakes, bad requests) at V(1).
	Logger logr.Logger
}

// Server is a controller-runtime webhook.Server: TLS 1.2 or newer with the certificate
// of CertDir reloaded by controller-runtime's certwatcher, HTTP/1.1 only, timeouts for
// slow clients, and a shutdown that answers every review in flight. controller-runtime's
// DefaultServer fixes its header timeout at 32 s, sets no read or write timeout, and
// cancels in-flight requests' contexts when it stops; ward needs all three otherwise.
type Server struct {
	opts ServerOptions
	mux  *http.ServeMux

	mu      sync.Mutex
	started bool
	limited *connLimitListener
	addr    net.Addr
	ready   chan struct{}
}

var _ webhook.Server = (*Server)(nil)

// NewServer returns a server with opts, defaults filled in.
func NewServer(opts ServerOptions) *Server {
	if opts.CertName == "" {
		opts.CertName = "tls.crt"
	}
	if opts.KeyName == "" {
		opts.KeyName = "tls.key"
	}
	setDefault(&opts.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDefault(&opts.ReadTimeout, DefaultReadTimeout)
	setDefault(&opts.WriteTimeout, DefaultWriteTimeout)
	setDefault(&opts.IdleTimeout, DefaultIdleTimeout)
	setDefault(&opts.ShutdownTimeout, DefaultShutdownTimeout)
	if opts.MaxHeaderBytes == 0 {
		opts.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if opts.MaxConnections <= 0 {
		opts.MaxConnections = DefaultMaxConnections(DefaultMaxInFlight())
	}
	if opts.Logger.GetSink() == nil {
		opts.Logger = logr.Discard()
	}
	return &Server{opts: opts, mux: http.NewServeMux(), ready: make(chan struct{})}
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

// NeedLeaderElection is false: every replica serves.
func (*Server) NeedLeaderElection() bool { return false }

// Register serves hook at path.
func (s *Server) Register(path string, hook http.Handler) { s.mux.Handle(path, hook) }

// WebhookMux returns the server's mux.
func (s *Server) WebhookMux() *http.ServeMux { return s.mux }

// TLSConfig is the server's TLS configuration around getCertificate.
func TLSConfig(getCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: getCertificate,
		// HTTP/1.1 only: the API server speaks it to webhooks, and HTTP/2 has had its
		// share of denial-of-service bugs (CVE-2023-44487, CVE-2023-39325).
		NextProtos: []string{"http/1.1"},
	}
}

// Start serves until ctx is done, then stops accepting connections and waits up to
// ShutdownTimeout for the reviews in flight, which keep their own contexts.
func (s *Server) Start(ctx context.Context) error {
	lg := s.opts.Logger
	certPath := filepath.Join(s.opts.CertDir, s.opts.CertName)
	keyFile := filepath.Join(s.opts.CertDir, s.opts.KeyName)
	watcher, err := certwatcher.New(certPath, keyFile)
	if err != nil {
		return fmt.Errorf("webhook server: serving certificate from %s: %w", s.opts.CertDir, err)
	}
	go func() {
		if err := watcher.Start(ctx); err != nil {
			lg.Error(err, "certificate watcher stopped", keyCertDir, s.opts.CertDir)
		}
	}()
	ln, err := net.Listen("tcp", net.JoinHostPort(s.opts.Host, strconv.Itoa(s.opts.Port)))
	if err != nil {
		return fmt.Errorf("webhook server: listen: %w", err)
	}
	srv := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       s.opts.ReadTimeout,
		WriteTimeout:      s.opts.WriteTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    s.opts.MaxHeaderBytes,
		// Reviews in flight must not be cancelled when the server stops: they finish.
		BaseContext:  func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     log.New(logWriter{lg}, "", 0),
	}
	var onRefuse, onEvict func()
	if m := s.opts.Metrics; m != nil {
		refused, evicted := m.connectionsShed.WithLabelValues("refused"), m.connectionsShed.WithLabelValues("evicted")
		onRefuse, onEvict = refused.Inc, evicted.Inc
	}
	limited := newConnLimitListener(ln, s.opts.MaxConnections, lg, onRefuse, onEvict)
	srv.ConnState = limited.connState
	s.mu.Lock()
	s.limited = limited
	s.started = true
	s.addr = ln.Addr()
	close(s.ready)
	s.mu.Unlock()
	lg.Info("serving webhooks", keyAddress, ln.Addr().String())

	stopped := make(chan error, 1)
	go func() {
		<-ctx.Done()
		lg.Info("stopping webhook server", keyTimeout, s.opts.ShutdownTimeout.String())
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
		defer cancel()
		stopped <- srv.Shutdown(sctx)
	}()
	if err := srv.Serve(tls.NewListener(limited, TLSConfig(watcher.GetCertificate))); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("webhook server: %w", err)
	}
	if err := <-stopped; err != nil {
		return fmt.Errorf("webhook server: shutdown: %w", err)
	}
	lg.Info("webhook server stopped")
	return nil
}

// Addr is the address the server listens on, once it has started.
func (s *Server) Addr(ctx context.Context) (net.Addr, error) {
	select {
	case <-s.ready:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.addr, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// StartedChecker is a healthz.Checker: healthy once the server accepts TLS connections.
func (s *Server) StartedChecker() healthz.Checker {
	return func(*http.Request) error {
		s.mu.Lock()
		started, addr, limited := s.started, s.addr, s.limited
		s.mu.Unlock()
		if !started {
			return errors.New("webhook server has not started")
		}
		if limited.full() {
			// Every connection in use: the server is serving, and a probe's own
			// connection would only be refused. Overload must not make the replica
			// unready, or the API server would lose every replica at once.
			return nil
		}
		d := &net.Dialer{Timeout: 5 * time.Second}
		// The check dials its own port only to see the handshake complete; the
		// certificate's names are for the API server, not for this address.
		conn, err := tls.DialWithDialer(d, "tcp", addr.String(), &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec // G402: self-check of the local listener
		if err != nil {
			return fmt.Errorf("webhook server is not reachable: %w", err)
		}
		return conn.Close()
	}
}

// logWriter turns net/http's error log lines into logr entries at V(1): TLS handshake
// failures and malformed requests are the clients' errors, not ward's.
type logWriter struct{ log logr.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.V(1).Info("http server error", keyReason, strings.TrimSpace(string(p)))
	return len(p), nil
}
