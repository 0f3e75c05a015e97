package webhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	crconfig "sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/wardsec/ward/pkg/config"
	"github.com/wardsec/ward/pkg/engine"
)

// Path is where the webhook answers AdmissionReviews.
const Path = "/validate"

// shutdownMargin is what the manager's stop allows beyond the webhook server's
// ShutdownTimeout, for the other runnables.
const shutdownMargin = 5 * time.Second

// Options configure Run.
type Options struct {
	// Engine holds the compiled rules.
	Engine *engine.Engine
	// Settings are the resolved config.
	Settings *config.Settings
	// Server configures the webhook server.
	Server ServerOptions
	// MaxInFlight bounds the reviews in flight; 0 means DefaultMaxInFlight.
	MaxInFlight int
	// MetricsBindAddress serves Prometheus metrics; "0" disables.
	MetricsBindAddress string
	// HealthProbeBindAddress serves /healthz and /readyz; "0" disables.
	HealthProbeBindAddress string
	// PprofBindAddress serves net/http/pprof; "" or "0" disables. Profiles show what
	// ward holds and does, so bind it to loopback.
	PprofBindAddress string
	// RestConfig reaches the API server; nil reads KUBECONFIG, then in-cluster config.
	RestConfig *rest.Config
	// Logger is the root logger.
	Logger logr.Logger
}

// Run serves admission reviews until ctx is done: a controller-runtime manager with
// ward's webhook server, its metrics server, health probes, and the cache the cluster
// inventory comes from. One Evaluator is prepared here, over the live inventory, and
// shared by every review.
func Run(ctx context.Context, o Options) error {
	if o.Engine == nil || o.Settings == nil {
		return errors.New("serve: engine and settings are required")
	}
	lg := o.Logger
	if lg.GetSink() == nil {
		lg = logr.Discard()
	}
	cfg := o.RestConfig
	if cfg == nil {
		var err error
		if cfg, err = crconfig.GetConfig(); err != nil {
			return fmt.Errorf("serve: kubeconfig: %w", err)
		}
	}
	inv, err := engine.NewInventory(nil)
	if err != nil {
		return fmt.Errorf("serve: inventory: %w", err)
	}
	ev, err := o.Engine.Prepare(ctx, inv, o.Settings.Engine())
	if err != nil {
		return fmt.Errorf("serve: prepare rules: %w", err)
	}
	if err := RegisterRuntimeCollectors(crmetrics.Registry); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	metrics, err := NewMetrics(crmetrics.Registry, o.Engine.Rules().IDs())
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srvOpts := o.Server
	if srvOpts.Logger.GetSink() == nil {
		srvOpts.Logger = lg.WithName("webhook-server")
	}
	maxInFlight := o.MaxInFlight
	if maxInFlight == 0 {
		maxInFlight = DefaultMaxInFlight()
	}
	if srvOpts.MaxConnections == 0 {
		srvOpts.MaxConnections = DefaultMaxConnections(maxInFlight)
	}
	srvOpts.Metrics = metrics
	srv := NewServer(srvOpts)
	shutdown := srv.opts.ShutdownTimeout + shutdownMargin
	mgr, err := manager.New(cfg, manager.Options{
		Logger:                  lg,
		Metrics:                 metricsserver.Options{BindAddress: o.MetricsBindAddress},
		HealthProbeBindAddress:  o.HealthProbeBindAddress,
		PprofBindAddress:        o.PprofBindAddress,
		WebhookServer:           srv,
		Cache:                   cache.Options{DefaultTransform: CacheTransform},
		GracefulShutdownTimeout: &shutdown,
	})
	if err != nil {
		return fmt.Errorf("serve: manager: %w", err)
	}
	cluster, err := NewClusterInventory(ctx, mgr.GetCache(), inv, lg.WithName("inventory"))
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if err := mgr.Add(cluster); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	handler, err := NewHandler(HandlerOptions{Evaluator: ev, Settings: o.Settings, Metrics: metrics, Cluster: cluster})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	endpoint, err := NewEndpoint(handler, metrics, EndpointOptions{MaxInFlight: maxInFlight, Logger: lg.WithName("admission")})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	// GetWebhookServer adds the server to the manager's runnables.
	mgr.GetWebhookServer().Register(Path, endpoint)
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return fmt.Errorf("serve: healthz: %w", err)
	}
	if err := mgr.AddReadyzCheck("inventory", cluster.ReadyCheck); err != nil {
		return fmt.Errorf("serve: readyz: %w", err)
	}
	if err := mgr.AddReadyzCheck("webhook", srv.StartedChecker()); err != nil {
		return fmt.Errorf("serve: readyz: %w", err)
	}
	lg.Info("starting", keyRules, o.Settings.Engine().Enabled, keyTimeout, o.Settings.Webhook.EvaluationTimeout.String(),
		keyAction, string(o.Settings.Webhook.OnTimeout), keyLimit, endpoint.max, keyMaxConnections, srvOpts.MaxConnections)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
