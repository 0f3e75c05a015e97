package main

import (
	"fmt"
	"runtime"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap/zapcore"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	crconfig "sigs.k8s.io/controller-runtime/pkg/client/config"
	crlog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/wardsec/ward/cmd/ward/internal/gcstart"
	"github.com/wardsec/ward/pkg/config"
	"github.com/wardsec/ward/webhook"
)

// serveOptions are ward serve's flags.
type serveOptions struct {
	policyOptions
	CertDir                string
	Port                   int
	MetricsBindAddress     string
	HealthProbeBindAddress string
	PprofBindAddress       string
	Kubeconfig             string
	Verbosity              int
	ShutdownTimeout        time.Duration
	MaxInFlight            int
}

func newServeCommand() *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the validating admission webhook",
		Long: `Serve admission.k8s.io/v1 AdmissionReviews at /validate over TLS, judging each
request with the same rules and config as ward lint. Findings of rules whose enforcement
is deny deny the request; warn findings come back as admission warnings; dryrun findings
are only logged and counted. The cluster inventory that default-deny reads comes from a
cache of NetworkPolicies, Namespaces and pod-bearing objects.

The serving certificate (tls.crt, tls.key in --cert-dir) is reloaded when the files
change. Prometheus metrics are served at --metrics-bind-address, /healthz and /readyz at
--health-probe-bind-address; /readyz fails until the cache has synced. SIGTERM stops
accepting connections and answers the reviews in flight first.

ward evaluates as many reviews at once as it has CPUs (GOMAXPROCS) and queues the
others, up to --max-in-flight in all. Beyond that it answers HTTP 429 at once, without
evaluating, and the API server applies the webhook's failurePolicy: Fail rejects the
request with ward's message, Ignore admits it unchecked. Connections are capped at 4 per
review in flight (at least 256). Overload thus costs neither latency nor memory to the
reviews ward takes.`,
		Example: `  ward serve --cert-dir /etc/ward/tls
  ward serve -c /etc/ward/.ward.yaml --port 9443 --metrics-bind-address :8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	o.bind(cmd)
	f := cmd.Flags()
	f.StringVar(&o.CertDir, "cert-dir", "/tmp/k8s-webhook-server/serving-certs", "directory holding tls.crt and tls.key, reloaded when they change")
	f.IntVar(&o.Port, "port", webhook.DefaultPort, "port of the webhook server")
	f.StringVar(&o.MetricsBindAddress, "metrics-bind-address", ":8080", `address of the Prometheus metrics endpoint ("0" disables it)`)
	f.StringVar(&o.HealthProbeBindAddress, "health-probe-bind-address", ":8081", `address of /healthz and /readyz ("0" disables them)`)
	f.StringVar(&o.PprofBindAddress, "pprof-bind-address", "0", `address of net/http/pprof, for profiling ("0" disables it; bind it to loopback)`)
	f.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then the in-cluster config, then ~/.kube/config)")
	f.IntVarP(&o.Verbosity, "verbosity", "v", 0, "log verbosity: 0 or 1")
	f.IntVar(&o.MaxInFlight, "max-in-flight", 0, fmt.Sprintf("most admission reviews evaluated or waiting at once; beyond it ward answers HTTP 429 at once and the API server applies the failurePolicy (0: %d × GOMAXPROCS, %d here)", webhook.DefaultMaxInFlight()/runtime.GOMAXPROCS(0), webhook.DefaultMaxInFlight()))
	f.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", webhook.DefaultShutdownTimeout, "how long SIGTERM waits for reviews in flight")
	return cmd
}

func (o *serveOptions) run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	// A server is not a short run: the collector goes back to its defaults (gcstart).
	gcstart.LongRun()
	if o.Verbosity < 0 || o.Verbosity > 1 {
		return usageError(fmt.Errorf("--verbosity %d: want 0 or 1", o.Verbosity))
	}
	if o.Port <= 0 || o.Port > 65535 {
		return usageError(fmt.Errorf("--port %d: want 1 to 65535", o.Port))
	}
	if o.MaxInFlight < 0 {
		return usageError(fmt.Errorf("--max-in-flight %d: want 0 (the default) or more", o.MaxInFlight))
	}
	lg := zap.New(zap.WriteTo(cmd.ErrOrStderr()), zap.Level(zapcore.Level(-o.Verbosity)))
	crlog.SetLogger(lg)
	klog.SetLogger(lg.WithName("client-go"))
	tuneServeGC(lg)

	eng, cfg, err := o.load(ctx, lg)
	if err != nil {
		return err
	}
	// Plan the rules before the first review rather than after the first few: the
	// webhook is long-lived, and its first reviews should be as quick as the rest.
	if err := eng.Plan(ctx); err != nil {
		return err
	}
	settings, err := cfg.Resolve(eng.Rules(), config.Flags{})
	if err != nil {
		return usageError(err)
	}
	rc, err := o.restConfig()
	if err != nil {
		return usageError(err)
	}
	err = webhook.Run(ctx, webhook.Options{
		Engine:   eng,
		Settings: settings,
		Server: webhook.ServerOptions{
			Port:            o.Port,
			CertDir:         o.CertDir,
			ShutdownTimeout: o.ShutdownTimeout,
		},
		MaxInFlight:            o.MaxInFlight,
		MetricsBindAddress:     o.MetricsBindAddress,
		HealthProbeBindAddress: o.HealthProbeBindAddress,
		PprofBindAddress:       o.PprofBindAddress,
		RestConfig:             rc,
		Logger:                 lg,
	})
	if err != nil {
		return &ExitError{Code: exitInput, Err: err}
	}
	return nil
}

// restConfig reads --kubeconfig, or else what controller-runtime finds: $KUBECONFIG,
// the in-cluster config, ~/.kube/config.
func (o *serveOptions) restConfig() (*rest.Config, error) {
	if o.Kubeconfig != "" {
		rc, err := clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig: %w", err)
		}
		return rc, nil
	}
	rc, err := crconfig.GetConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return rc, nil
}
