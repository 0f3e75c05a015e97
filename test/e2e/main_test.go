package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/wardsec/ward/webhook/testcert"
)

// Environment variables the suite reads.
const (
	envAssets       = "KUBEBUILDER_ASSETS"
	envStartTimeout = "KUBEBUILDER_CONTROLPLANE_START_TIMEOUT"
	envStopTimeout  = "KUBEBUILDER_CONTROLPLANE_STOP_TIMEOUT"
)

// wardUser is the API user ward runs as, bound to the shipped ClusterRole only: the
// suite proves that role is enough.
const wardUser = "ward"

// suite is what every test shares: one control plane, one ward binary, one CA, one
// webhook port, and an admin client whose warnings are recorded.
type suite struct {
	dir        string
	bin        string
	env        *envtest.Environment
	admin      *rest.Config
	client     kubernetes.Interface
	warnings   *warningRecorder
	kubeconfig string
	ca         *testcert.CA
	certDir    string
	port       int
}

var (
	s          *suite
	skipReason string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	if os.Getenv(envAssets) == "" {
		msg := envAssets + " is not set: the end-to-end suite needs etcd and kube-apiserver; " +
			"run `make test-e2e`, or KUBEBUILDER_ASSETS=$(hack/e2e-assets.sh) go test ./test/e2e/"
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "e2e: FAIL: under CI=true the end-to-end suite must run, never skip:", msg)
			return 1
		}
		skipReason = msg
		return m.Run()
	}
	for k, v := range map[string]string{envStartTimeout: "90s", envStopTimeout: "60s"} {
		if os.Getenv(k) == "" {
			_ = os.Setenv(k, v)
		}
	}
	var err error
	s, err = setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: setup:", err)
		if s != nil {
			s.teardown()
		}
		return 1
	}
	code := m.Run()
	s.teardown()
	return code
}

// need skips a test when the suite cannot run here (never under CI=true: run fails).
func need(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

func setup() (*suite, error) {
	start := time.Now()
	dir, err := os.MkdirTemp("", "ward-e2e-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	st := &suite{dir: dir, bin: filepath.Join(dir, "ward"), certDir: filepath.Join(dir, "tls")}

	// Build ward while the control plane starts.
	built := make(chan error, 1)
	go func() { built <- buildWard(st.bin) }()

	st.env = &envtest.Environment{}
	cfg, err := st.env.Start()
	if err != nil {
		return st, fmt.Errorf("start control plane from %s: %w", os.Getenv(envAssets), err)
	}
	fmt.Fprintf(os.Stderr, "e2e: control plane up in %s\n", time.Since(start).Round(time.Millisecond))
	st.warnings = &warningRecorder{}
	st.admin = rest.CopyConfig(cfg)
	st.admin.WarningHandler = st.warnings
	if st.client, err = kubernetes.NewForConfig(st.admin); err != nil {
		return st, fmt.Errorf("client: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := st.setupWardUser(ctx); err != nil {
		return st, err
	}
	if err := st.setupTLS(); err != nil {
		return st, err
	}
	if err := st.registerWebhook(ctx); err != nil {
		return st, err
	}
	if err := <-built; err != nil {
		return st, err
	}
	fmt.Fprintf(os.Stderr, "e2e: set up in %s\n", time.Since(start).Round(time.Millisecond))
	return st, nil
}

func (st *suite) teardown() {
	if st.env != nil {
		if err := st.env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: stop control plane:", err)
		}
	}
	_ = os.RemoveAll(st.dir)
}

// buildWard builds cmd/ward into bin, with -race when the suite runs with it.
func buildWard(bin string) error {
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "github.com/wardsec/ward/cmd/ward")
	cmd := exec.Command(goTool(), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	return nil
}

func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// repoFile is a path from the repository root.
func repoFile(rel string) string { return filepath.Join("..", "..", filepath.FromSlash(rel)) }

// setupWardUser makes ward's API user, bound to examples/deploy's ClusterRole.
func (st *suite) setupWardUser(ctx context.Context) error {
	var role rbacv1.ClusterRole
	if err := readDoc(repoFile("examples/deploy/rbac.yaml"), "ClusterRole", &role); err != nil {
		return err
	}
	if _, err := st.client.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create ClusterRole: %w", err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "ward-e2e"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: wardUser}},
	}
	if _, err := st.client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create ClusterRoleBinding: %w", err)
	}
	user, err := st.env.AddUser(envtest.User{Name: wardUser}, nil)
	if err != nil {
		return fmt.Errorf("add user %s: %w", wardUser, err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig of %s: %w", wardUser, err)
	}
	st.kubeconfig = filepath.Join(st.dir, "kubeconfig")
	if err := os.WriteFile(st.kubeconfig, kc, 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// setupTLS makes the CA and ward's serving certificate for 127.0.0.1, and picks the
// webhook port the suite keeps across ward restarts.
func (st *suite) setupTLS() error {
	var err error
	if st.ca, err = testcert.NewCA(); err != nil {
		return err
	}
	serving, err := st.ca.Issue()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(st.certDir, 0o700); err != nil {
		return fmt.Errorf("cert dir: %w", err)
	}
	if err := serving.Write(st.certDir); err != nil {
		return err
	}
	st.port, err = freePort()
	return err
}

// registerWebhook registers examples/deploy's ValidatingWebhookConfiguration with its
// service clientConfig replaced by a URL to the local ward and the test CA.
func (st *suite) registerWebhook(ctx context.Context) error {
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	if err := readDoc(repoFile("examples/deploy/webhook.yaml"), "ValidatingWebhookConfiguration", &vwc); err != nil {
		return err
	}
	url := fmt.Sprintf("https://127.0.0.1:%d/validate", st.port)
	for i := range vwc.Webhooks {
		vwc.Webhooks[i].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: st.ca.PEM}
	}
	vwc.Annotations = nil
	if _, err := st.client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &vwc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("register webhook: %w", err)
	}
	return nil
}

// readDoc decodes the document of kind from a multi-document YAML file.
func readDoc(path, kind string, into any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	for doc := range strings.SplitSeq(string(data), "\n---") {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if tm.Kind == kind {
			if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
				return fmt.Errorf("%s: %s: %w", path, kind, err)
			}
			return nil
		}
	}
	return fmt.Errorf("%s: no %s document", path, kind)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// warningRecorder is a rest.WarningHandler that keeps the warnings of the admin client.
type warningRecorder struct {
	mu   sync.Mutex
	msgs []string
}

// HandleWarningHeader records one warning.
func (w *warningRecorder) HandleWarningHeader(_ int, _ string, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msg)
}

// take returns the warnings recorded since the last take.
func (w *warningRecorder) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}
