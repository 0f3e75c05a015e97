// Package gen writes a deterministic corpus of Kubernetes manifests for ward's
// benchmark: workloads of every pod-bearing kind with 1-3 containers (some dropping
// NET_RAW or ALL, some not), Services with loadBalancerSourceRanges (some off their base
// address), NetworkPolicies (deny-all, empty namespaceSelector peers, labelled peers,
// ipBlocks with except) and ConfigMaps, spread over about fifty namespaces, a third of
// the files holding several documents.
//
// The same seed and size always give the same bytes, so a run can be repeated and two
// tools can be compared on the very same input.
package gen

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Namespaces is how many namespaces the corpus spreads over.
const Namespaces = 50

// Stats describe a generated corpus.
type Stats struct {
	Files, Documents, Bytes int
}

// Generate writes files manifest files below dir (created if needed), deterministic for
// a given seed. Files go into subdirectories of at most 1,000 files.
func Generate(dir string, files int, seed uint64) (Stats, error) {
	g := &generator{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), covered: map[string]bool{}}
	var st Stats
	for i := range files {
		sub := filepath.Join(dir, fmt.Sprintf("d%03d", i/1000))
		if i%1000 == 0 {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return st, err
			}
		}
		name, docs := g.file(i)
		text := strings.Join(docs, "---\n")
		if err := os.WriteFile(filepath.Join(sub, name), []byte(text), 0o644); err != nil {
			return st, err
		}
		st.Files++
		st.Documents += len(docs)
		st.Bytes += len(text)
	}
	return st, nil
}

// One writes a single-file corpus: one Deployment and its Service, the pre-commit case.
func One(path string, seed uint64) error {
	g := &generator{r: rand.New(rand.NewPCG(seed, 1)), covered: map[string]bool{}}
	ns := "shop"
	text := g.workload(ns, "web", "Deployment") + "---\n" + g.service(ns, "web")
	return os.WriteFile(path, []byte(text), 0o644)
}

type generator struct {
	r *rand.Rand
	// covered are the namespaces whose deny-all NetworkPolicy has been written.
	covered map[string]bool
}

func (g *generator) pct(p int) bool { return g.r.IntN(100) < p }

func (g *generator) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

// namespace names namespace i; every fourth one never gets a deny-all policy, so
// default-deny has findings at every size.
func namespace(i int) string { return fmt.Sprintf("team-%02d", i) }

func hasDenyAll(ns string) bool {
	var i int
	_, _ = fmt.Sscanf(ns, "team-%d", &i) // the generator's own names: "team-<n>"
	return i%4 != 0
}

var workloadKinds = []string{"Deployment", "Deployment", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"}

// file returns the name and documents of file i.
func (g *generator) file(i int) (string, []string) {
	ns := namespace(g.r.IntN(Namespaces))
	app := fmt.Sprintf("app-%05d", i)
	var docs []string
	multi := g.pct(33)
	if multi {
		// An application bundle: a workload, then 1-4 of its companions (mean 3.25
		// documents a file).
		kind := workloadKinds[g.r.IntN(len(workloadKinds))]
		docs = append(docs, g.workload(ns, app, kind))
		extra := 1 + g.r.IntN(3)
		if g.pct(25) {
			extra++
		}
		for j := range extra {
			switch g.r.IntN(4) {
			case 0:
				docs = append(docs, g.service(ns, app))
			case 1:
				docs = append(docs, g.configMap(ns, fmt.Sprintf("%s-%d", app, j)))
			case 2:
				docs = append(docs, g.networkPolicy(ns, fmt.Sprintf("%s-%d", app, j)))
			default:
				docs = append(docs, g.workload(ns, fmt.Sprintf("%s-w%d", app, j), workloadKinds[g.r.IntN(len(workloadKinds))]))
			}
		}
	} else {
		switch n := g.r.IntN(100); {
		case n < 55:
			docs = append(docs, g.workload(ns, app, workloadKinds[g.r.IntN(len(workloadKinds))]))
		case n < 70:
			docs = append(docs, g.service(ns, app))
		case n < 85:
			docs = append(docs, g.configMap(ns, app))
		default:
			docs = append(docs, g.networkPolicy(ns, app))
		}
	}
	// The namespace's deny-all policy goes with the first file of the namespace.
	if hasDenyAll(ns) && !g.covered[ns] {
		g.covered[ns] = true
		docs = append(docs, denyAll(ns))
	}
	return app + ".yaml", docs
}

func denyAll(ns string) string {
	return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: %s
spec:
  podSelector: {}
  policyTypes:
  - Ingress
`, ns)
}

func (g *generator) meta(b *strings.Builder, ns, name string) {
	fmt.Fprintf(b, "metadata:\n  name: %s\n", name)
	// A few objects name no namespace and land in --namespace (default).
	if !g.pct(4) {
		fmt.Fprintf(b, "  namespace: %s\n", ns)
	}
	fmt.Fprintf(b, "  labels:\n    app.kubernetes.io/name: %s\n    app.kubernetes.io/part-of: %s\n    app.kubernetes.io/managed-by: Helm\n",
		name, ns)
	if g.pct(40) {
		fmt.Fprintf(b, "  annotations:\n    meta.helm.sh/release-name: %s\n    meta.helm.sh/release-namespace: %s\n", name, ns)
	}
}

func (g *generator) workload(ns, name, kind string) string {
	var b strings.Builder
	var pod string // indentation of the pod spec's fields
	switch kind {
	case "Deployment", "StatefulSet", "DaemonSet":
		fmt.Fprintf(&b, "apiVersion: apps/v1\nkind: %s\n", kind)
		g.meta(&b, ns, name)
		b.WriteString("spec:\n")
		if kind != "DaemonSet" {
			fmt.Fprintf(&b, "  replicas: %d\n", 1+g.r.IntN(5))
		}
		if kind == "StatefulSet" {
			fmt.Fprintf(&b, "  serviceName: %s\n", name)
		}
		fmt.Fprintf(&b, "  selector:\n    matchLabels:\n      app.kubernetes.io/name: %s\n  template:\n", name)
		fmt.Fprintf(&b, "    metadata:\n      labels:\n        app.kubernetes.io/name: %s\n    spec:\n", name)
		pod = "      "
	case "Job":
		fmt.Fprintf(&b, "apiVersion: batch/v1\nkind: Job\n")
		g.meta(&b, ns, name)
		fmt.Fprintf(&b, "spec:\n  backoffLimit: %d\n  template:\n    spec:\n      restartPolicy: Never\n", g.r.IntN(6))
		pod = "      "
	case "CronJob":
		fmt.Fprintf(&b, "apiVersion: batch/v1\nkind: CronJob\n")
		g.meta(&b, ns, name)
		fmt.Fprintf(&b, "spec:\n  schedule: \"%d * * * *\"\n  concurrencyPolicy: Forbid\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n", g.r.IntN(60))
		pod = "          "
	default: // Pod
		fmt.Fprintf(&b, "apiVersion: v1\nkind: Pod\n")
		g.meta(&b, ns, name)
		b.WriteString("spec:\n")
		pod = "  "
	}
	fmt.Fprintf(&b, "%sserviceAccountName: %s\n", pod, name)
	if g.pct(50) {
		fmt.Fprintf(&b, "%ssecurityContext:\n%s  runAsNonRoot: true\n%s  seccompProfile:\n%s    type: RuntimeDefault\n", pod, pod, pod, pod)
	}
	if g.pct(10) {
		fmt.Fprintf(&b, "%sinitContainers:\n", pod)
		g.container(&b, pod, "init", true)
	}
	fmt.Fprintf(&b, "%scontainers:\n", pod)
	n := 1 + g.r.IntN(3)
	for i := range n {
		cname := "main"
		if i > 0 {
			cname = g.pick("sidecar", "proxy", "exporter") + fmt.Sprint(i)
		}
		g.container(&b, pod, cname, false)
	}
	return b.String()
}

// container writes one container with a securityContext that drops NET_RAW or ALL
// (most), drops something else, adds NET_RAW back, is privileged, or has none.
func (g *generator) container(b *strings.Builder, pod, name string, init bool) {
	c := pod + "  "
	fmt.Fprintf(b, "%s- name: %s\n%s  image: registry.example.com/%s:%d.%d.%d\n", pod, name, pod, name, g.r.IntN(5), g.r.IntN(20), g.r.IntN(10))
	fmt.Fprintf(b, "%simagePullPolicy: IfNotPresent\n", c)
	if !init {
		port := 8000 + g.r.IntN(1000)
		fmt.Fprintf(b, "%sports:\n%s- name: http\n%s  containerPort: %d\n%s  protocol: TCP\n", c, c, c, port, c)
		fmt.Fprintf(b, "%senv:\n%s- name: LOG_LEVEL\n%s  value: %s\n%s- name: POD_NAME\n%s  valueFrom:\n%s    fieldRef:\n%s      fieldPath: metadata.name\n",
			c, c, c, g.pick("info", "debug", "warn"), c, c, c, c)
		fmt.Fprintf(b, "%sreadinessProbe:\n%s  httpGet:\n%s    path: /healthz\n%s    port: http\n%s  periodSeconds: 10\n", c, c, c, c, c)
	}
	fmt.Fprintf(b, "%sresources:\n%s  requests:\n%s    cpu: %dm\n%s    memory: %dMi\n%s  limits:\n%s    memory: %dMi\n",
		c, c, c, 50*(1+g.r.IntN(8)), c, 64*(1+g.r.IntN(8)), c, c, 128*(1+g.r.IntN(8)))
	switch n := g.r.IntN(100); {
	case n < 40:
		fmt.Fprintf(b, "%ssecurityContext:\n%s  allowPrivilegeEscalation: false\n%s  readOnlyRootFilesystem: true\n%s  capabilities:\n%s    drop:\n%s    - %s\n",
			c, c, c, c, c, c, g.pick("ALL", "ALL", "all", "NET_RAW", "CAP_NET_RAW"))
	case n < 60:
		fmt.Fprintf(b, "%ssecurityContext:\n%s  capabilities:\n%s    drop: [%s, MKNOD]\n", c, c, c, g.pick("NET_RAW", "net_raw", "ALL"))
	case n < 70:
		// Drops something else only.
		fmt.Fprintf(b, "%ssecurityContext:\n%s  capabilities:\n%s    drop: [MKNOD]\n", c, c, c)
	case n < 75:
		// Drops ALL, then adds NET_RAW back.
		fmt.Fprintf(b, "%ssecurityContext:\n%s  capabilities:\n%s    drop: [ALL]\n%s    add: [%s]\n", c, c, c, c, g.pick("NET_RAW", "NET_BIND_SERVICE"))
	case n < 78:
		fmt.Fprintf(b, "%ssecurityContext:\n%s  privileged: true\n%s  capabilities:\n%s    drop: [ALL]\n", c, c, c, c)
	case n < 85:
		fmt.Fprintf(b, "%ssecurityContext:\n%s  runAsUser: %d\n", c, c, 1000+g.r.IntN(1000))
	default:
		// No securityContext at all.
	}
}

func (g *generator) service(ns, name string) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Service\n")
	g.meta(&b, ns, name)
	fmt.Fprintf(&b, "spec:\n  selector:\n    app.kubernetes.io/name: %s\n  ports:\n  - name: http\n    port: 80\n    targetPort: http\n", name)
	if g.pct(60) {
		b.WriteString("  type: LoadBalancer\n  loadBalancerSourceRanges:\n")
		for range 1 + g.r.IntN(3) {
			fmt.Fprintf(&b, "  - %s\n", g.cidr(15))
		}
	} else {
		b.WriteString("  type: ClusterIP\n")
	}
	return b.String()
}

// cidr returns a CIDR that is off its base address with probability pct%.
func (g *generator) cidr(pct int) string {
	if g.pct(10) {
		// IPv6.
		if g.pct(pct) {
			return fmt.Sprintf("2001:db8:%x::%x/48", g.r.IntN(0xffff), 1+g.r.IntN(0xff))
		}
		return fmt.Sprintf("2001:db8:%x::/48", g.r.IntN(0xffff))
	}
	bits := 16 + g.r.IntN(13) // /16 .. /28
	a, b, c := 10+g.r.IntN(200), g.r.IntN(256), g.r.IntN(256)
	ip := uint32(a)<<24 | uint32(b)<<16 | uint32(c)<<8 //nolint:gosec // G115: octets, 0 to 255
	ip &^= 1<<(32-bits) - 1
	if g.pct(pct) {
		ip |= 1 + uint32(g.r.IntN(1<<(32-bits)-1)) //nolint:gosec // G115: below 2^32 by construction
	}
	return fmt.Sprintf("%d.%d.%d.%d/%d", ip>>24, ip>>16&0xff, ip>>8&0xff, ip&0xff, bits)
}

func (g *generator) configMap(ns, name string) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\n")
	g.meta(&b, ns, name)
	b.WriteString("data:\n")
	for i := range 2 + g.r.IntN(6) {
		fmt.Fprintf(&b, "  key%d: \"%s-%d\"\n", i, g.pick("value", "enabled", "https://example.com/api"), g.r.IntN(1000))
	}
	if g.pct(30) {
		b.WriteString("  config.yaml: |\n    server:\n      port: 8080\n      debug: false\n    features: [a, b, c]\n")
	}
	return b.String()
}

// networkPolicy writes a policy with ingress peers of every sort: labelled namespaces,
// empty namespaceSelector (a finding), same-namespace pods, ipBlocks with except.
func (g *generator) networkPolicy(ns, name string) string {
	var b strings.Builder
	b.WriteString("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n")
	g.meta(&b, ns, name)
	fmt.Fprintf(&b, "spec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: %s\n  policyTypes:\n  - Ingress\n", name)
	if g.pct(30) {
		b.WriteString("  - Egress\n  egress:\n  - to:\n    - ipBlock:\n        cidr: " + g.cidr(10) + "\n")
	}
	b.WriteString("  ingress:\n")
	for range 1 + g.r.IntN(2) {
		b.WriteString("  - from:\n")
		for range 1 + g.r.IntN(3) {
			switch g.r.IntN(5) {
			case 0:
				b.WriteString("    - namespaceSelector: {}\n")
				if g.pct(50) {
					b.WriteString("      podSelector:\n        matchLabels:\n          role: frontend\n")
				}
			case 1:
				fmt.Fprintf(&b, "    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: %s\n", namespace(g.r.IntN(Namespaces)))
			case 2:
				b.WriteString("    - podSelector:\n        matchLabels:\n          role: frontend\n")
			default:
				fmt.Fprintf(&b, "    - ipBlock:\n        cidr: %s\n", g.ipBlockCIDR())
			}
		}
		fmt.Fprintf(&b, "    ports:\n    - protocol: TCP\n      port: %d\n", 8000+g.r.IntN(1000))
	}
	return b.String()
}

// ipBlockCIDR returns an IPv4 cidr, sometimes with except entries, some of them off
// their base or outside the cidr.
func (g *generator) ipBlockCIDR() string {
	a, bb := 10+g.r.IntN(200), g.r.IntN(256)
	cidr := fmt.Sprintf("%d.%d.0.0/16", a, bb)
	if g.pct(10) {
		cidr = fmt.Sprintf("%d.%d.0.%d/16", a, bb, 1+g.r.IntN(255))
	}
	if !g.pct(50) {
		return cidr
	}
	var out strings.Builder
	out.WriteString(cidr + "\n        except:\n")
	for range 1 + g.r.IntN(2) {
		switch n := g.r.IntN(100); {
		case n < 80:
			fmt.Fprintf(&out, "        - %d.%d.%d.0/24\n", a, bb, g.r.IntN(256))
		case n < 90:
			fmt.Fprintf(&out, "        - %d.%d.%d.%d/24\n", a, bb, g.r.IntN(256), 1+g.r.IntN(255))
		default:
			fmt.Fprintf(&out, "        - %d.%d.%d.0/24\n", a+1, bb, g.r.IntN(256))
		}
	}
	return strings.TrimSuffix(out.String(), "\n")
}
