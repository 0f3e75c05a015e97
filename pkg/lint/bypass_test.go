package lint

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wardsec/ward/pkg/report"
)

// Rule bypasses: ways of writing a manifest that kubectl and the API server read one way
// and a careless linter another, so that a violation slips through. Each case runs
// through the real pipeline (manifest reader, inventory, compiled embedded rules,
// positions) and states its expectations in the manifest itself:
//
//	# want: FRAGMENT    a drop-net-raw finding on this line whose message holds FRAGMENT
//	# error: FRAGMENT   an input error on this line whose message holds FRAGMENT
//
// A case without markers must give no drop-net-raw finding and no error. Other rules'
// findings (default-deny) are not the subject here and are left out.

var markerRE = regexp.MustCompile(`#\s*(want|error):\s*(.*?)\s*$`)

type bypassCase struct {
	name string
	doc  string
}

// Pod, in several shapes: podWith puts a container's securityContext under a Pod.
func podWith(securityContext string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: x\n" + indent(securityContext, "    ")
}

func indent(s, by string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = by + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

var capabilityCases = []bypassCase{
	{"no securityContext (control)", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c # want: container \"c\" does not drop NET_RAW\n    image: x\n"},
	{"drop net_raw lower case", podWith("securityContext:\n  capabilities:\n    drop: [net_raw]\n")},
	{"drop Net_Raw mixed case", podWith("securityContext:\n  capabilities:\n    drop: [Net_Raw]\n")},
	{"drop all lower case", podWith("securityContext:\n  capabilities:\n    drop: [all]\n")},
	{"drop another capability only", podWith("securityContext:\n  capabilities:\n    drop: [NET_ADMIN] # want: does not drop NET_RAW\n")},
	{"drop a look-alike", podWith("securityContext:\n  capabilities:\n    drop: [NET_RAW_] # want: does not drop NET_RAW\n")},
	{"add net_raw back, lower case", podWith("securityContext:\n  capabilities:\n    drop: [ALL]\n    add: [net_raw] # want: adds NET_RAW back\n")},
	{"add CAP_NET_RAW back", podWith("securityContext:\n  capabilities:\n    drop: [ALL]\n    add:\n    - CHOWN\n    - CAP_NET_RAW # want: adds NET_RAW back\n")},
	{"add cap_net_raw back", podWith("securityContext:\n  capabilities:\n    drop: [ALL]\n    add:\n    - cap_net_raw # want: adds NET_RAW back\n")},
	{"add Cap_Net_Raw back", podWith("securityContext:\n  capabilities:\n    drop: [NET_RAW]\n    add: [Cap_Net_Raw] # want: adds NET_RAW back\n")},
	{"add all back, mixed case", podWith("securityContext:\n  capabilities:\n    drop: [ALL]\n    add: [aLL] # want: adds ALL capabilities back\n")},
	{"add CAP_ALL back", podWith("securityContext:\n  capabilities:\n    drop: [ALL]\n    add: [CAP_ALL] # want: adds ALL capabilities back\n")},
	{"init and ephemeral containers", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n" +
		"  containers:\n  - {name: c, securityContext: {capabilities: {drop: [ALL]}}}\n" +
		"  initContainers:\n  - name: i # want: init container \"i\" does not drop NET_RAW\n" +
		"  ephemeralContainers:\n  - name: e\n    securityContext:\n      capabilities:\n        drop: [ALL]\n        add: [cap_net_raw] # want: ephemeral container \"e\" adds NET_RAW back\n"},
}

var booleanCases = func() []bypassCase {
	var cs []bypassCase
	// YAML 1.1 booleans, which kubectl (sigs.k8s.io/yaml, yaml.v2) reads as true.
	for _, v := range []string{"yes", "Yes", "YES", "on", "On", "ON", "y", "Y", "true", "True", "TRUE", "!!bool yes", "!!bool on"} {
		cs = append(cs, bypassCase{"privileged: " + v, podWith("securityContext:\n  capabilities:\n    drop: [ALL]\n  privileged: " + v + " # want: is privileged\n")})
	}
	// And false, which is no finding.
	for _, v := range []string{"no", "off", "N", "false"} {
		cs = append(cs, bypassCase{"privileged: " + v, podWith("securityContext:\n  capabilities:\n    drop: [ALL]\n  privileged: " + v + "\n")})
	}
	return cs
}()

var anchorCases = []bypassCase{
	{"securityContext shared through an alias", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n" +
		"  - name: a\n    securityContext: &sc\n      capabilities: {drop: [ALL]}\n      privileged: true # want: container \"a\" is privileged\n" +
		"  - name: b\n    securityContext: *sc # want: container \"b\" is privileged\n"},
	{"capabilities from a merge key", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n" +
		"  - &base\n    name: a\n    securityContext:\n      capabilities: {drop: [ALL], add: [NET_RAW]} # want: container \"a\" adds NET_RAW back\n" +
		"  - <<: *base # want: container \"b\" adds NET_RAW back\n    name: b\n"},
	{"a merge key overridden by an explicit key", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n" +
		"  - &hardened\n    name: a\n    securityContext: {capabilities: {drop: [ALL]}}\n" +
		"  - <<: *hardened\n    name: b\n    securityContext: {} # want: container \"b\" does not drop NET_RAW\n"},
	// kubectl (yaml.v2) merges in order: a merge key overrides the keys before it, and
	// the API server gets the hardened securityContext. ward reads what kubectl sends.
	{"a merge key after an explicit key overrides it", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n" +
		"  - &hardened\n    name: a\n    securityContext: {capabilities: {drop: [ALL]}}\n" +
		"  - securityContext: {}\n    <<: *hardened\n    name: b\n"},
	{"earlier maps of a merge list win", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n" +
		"  - name: a\n    securityContext: &loose {capabilities: {drop: [ALL]}, privileged: true} # want: container \"a\" is privileged\n" +
		"  - name: b\n    securityContext: &strict {capabilities: {drop: [ALL]}, privileged: false}\n" +
		"  - name: c\n    securityContext: # want: container \"c\" is privileged\n      <<: [*loose, *strict]\n"},
	{"a whole container list through an alias", "apiVersion: v1\nkind: List\nitems:\n" +
		"- apiVersion: v1\n  kind: Pod\n  metadata: {name: one}\n  spec:\n    containers: &cs\n    - name: c # want: container \"c\" does not drop NET_RAW\n" +
		"- apiVersion: v1\n  kind: Pod\n  metadata: {name: two}\n  spec:\n    containers: *cs # want: container \"c\" does not drop NET_RAW\n"},
}

var duplicateKeyCases = []bypassCase{
	{"securityContext twice", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n" +
		"    securityContext: {capabilities: {drop: [ALL]}}\n    securityContext: {privileged: true} # error: duplicate key \"securityContext\" (first at line 7)\n"},
	{"drop twice", podWith("securityContext:\n  capabilities:\n    drop: [ALL]\n    drop: [] # error: duplicate key \"drop\" (first at line 11)\n")},
	{"privileged quoted and plain", podWith("securityContext:\n  capabilities: {drop: [ALL]}\n  privileged: false\n  \"privileged\": true # error: duplicate key \"privileged\" (first at line 11)\n")},
	{"containers twice", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: []\n  containers: # error: duplicate key \"containers\" (first at line 5)\n  - name: hidden\n"},
	{"kind twice", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: p}\nkind: Pod # error: duplicate key \"kind\" (first at line 2)\nspec:\n  containers:\n  - name: hidden\n"},
}

var listCases = []bypassCase{
	{"v1 List", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  spec:\n    containers:\n    - name: c # want: container \"c\" does not drop NET_RAW\n"},
	{"a Pod wrapping items, as kubectl reads it", "apiVersion: v1\nkind: Pod\nmetadata: {name: decoy}\nspec:\n  containers:\n  - {name: ok, securityContext: {capabilities: {drop: [ALL]}}}\n" +
		"items:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: hidden}\n  spec:\n    containers:\n    - name: bad # want: container \"bad\" does not drop NET_RAW\n"},
	{"PodList items without kind", "apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: p}\n  spec:\n    containers:\n    - name: c # want: container \"c\" does not drop NET_RAW\n"},
	{"DeploymentList", "apiVersion: apps/v1\nkind: DeploymentList\nitems:\n- metadata: {name: d}\n  spec:\n    template:\n      spec:\n        containers:\n        - name: c # want: does not drop NET_RAW\n"},
	{"a List in a List", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items:\n  - apiVersion: v1\n    kind: Pod\n    metadata: {name: p}\n    spec:\n      containers:\n      - name: c # want: does not drop NET_RAW\n"},
	{"JSON List", "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n  {\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"p\"},\n   \"spec\": {\"containers\": [\n     {\"name\": \"c\", \"securityContext\": {\"privileged\": true}}]}}]}\n"},
}

// The JSON List case has no room for comments: its expectations are given here.
var jsonListWant = []string{"4: want: does not drop NET_RAW", "4: want: is privileged"}

var kindCases = func() []bypassCase {
	template := "  template:\n    spec:\n      containers:\n      - name: c # want: does not drop NET_RAW\n"
	var cs []bypassCase
	for _, k := range []struct{ apiVersion, kind string }{
		{"extensions/v1beta1", "Deployment"}, {"extensions/v1beta1", "DaemonSet"}, {"extensions/v1beta1", "ReplicaSet"},
		{"apps/v1beta1", "Deployment"}, {"apps/v1beta1", "StatefulSet"}, {"apps/v1beta2", "DaemonSet"},
		{"apps/v1beta2", "ReplicaSet"}, {"apps/v1", "StatefulSet"}, {"batch/v1", "Job"}, {"v1", "ReplicationController"},
	} {
		cs = append(cs, bypassCase{k.apiVersion + " " + k.kind, "apiVersion: " + k.apiVersion + "\nkind: " + k.kind + "\nmetadata: {name: w}\nspec:\n" + template})
	}
	for _, v := range []string{"batch/v1beta1", "batch/v2alpha1", "batch/v1"} {
		cs = append(cs, bypassCase{v + " CronJob", "apiVersion: " + v + "\nkind: CronJob\nmetadata: {name: cj}\nspec:\n  jobTemplate:\n    spec:\n" + indent(template, "    ")})
	}
	cs = append(cs,
		bypassCase{"v1 PodTemplate", "apiVersion: v1\nkind: PodTemplate\nmetadata: {name: pt}\ntemplate:\n  spec:\n    containers:\n    - name: c # want: does not drop NET_RAW\n"},
		// A kind of the same name in another group is another kind (DESIGN.md): not checked.
		bypassCase{"a CRD called Deployment (control)", "apiVersion: example.com/v1\nkind: Deployment\nmetadata: {name: w}\nspec:\n" + template[:len(template)-len(" # want: does not drop NET_RAW\n")] + "\n"},
	)
	return cs
}()

func TestRuleBypasses(t *testing.T) {
	eng, s := newEngine(t)
	groups := []struct {
		name  string
		cases []bypassCase
	}{
		{"capability names", capabilityCases},
		{"YAML 1.1 booleans", booleanCases},
		{"anchors and merge keys", anchorCases},
		{"duplicate keys", duplicateKeyCases},
		{"lists", listCases},
		{"pod-bearing kinds under other apiVersions", kindCases},
	}
	for _, g := range groups {
		for _, tc := range g.cases {
			t.Run(g.name+"/"+tc.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "m.yaml")
				if err := os.WriteFile(path, []byte(tc.doc), 0o644); err != nil {
					t.Fatal(err)
				}
				res, err := Run(t.Context(), eng, Options{Paths: []string{path}, Settings: s})
				if err != nil {
					t.Fatal(err)
				}
				want := markers(tc.doc)
				if tc.name == "JSON List" {
					want = jsonListWant
				}
				got := observed(res, want)
				if diff := strings.Join(symmetricDiff(want, got), "\n  "); diff != "" {
					t.Errorf("expectations not met (- missing, + unexpected):\n  %s\nmanifest:\n%s", diff, numbered(tc.doc))
				}
			})
		}
	}
}

// markers reads the "# want:" and "# error:" comments of a manifest as "LINE: want:
// FRAGMENT" strings.
func markers(doc string) []string {
	var out []string
	for i, line := range strings.Split(doc, "\n") {
		if m := markerRE.FindStringSubmatch(line); m != nil {
			out = append(out, fmt.Sprintf("%d: %s: %s", i+1, m[1], m[2]))
		}
	}
	return out
}

// observed turns the drop-net-raw findings and the input errors of a run into the
// strings markers makes: where a finding or error matches a wanted fragment on its line,
// the wanted string; otherwise the finding's full message.
func observed(res *report.Result, want []string) []string {
	var got []string
	match := func(line int, kind, msg string) string {
		for _, w := range want {
			prefix := strconv.Itoa(line) + ": " + kind + ": "
			if frag, ok := strings.CutPrefix(w, prefix); ok && strings.Contains(msg, frag) && !slices.Contains(got, w) {
				return w
			}
		}
		return fmt.Sprintf("%d: %s: %s", line, kind, msg)
	}
	for _, f := range res.Findings {
		if f.Rule == "drop-net-raw" {
			got = append(got, match(f.Line, "want", f.Message))
		}
	}
	for _, e := range res.Errors {
		got = append(got, match(e.Line, "error", e.Message))
	}
	return got
}

func symmetricDiff(want, got []string) []string {
	var d []string
	rest := slices.Clone(got)
	for _, w := range want {
		if i := slices.Index(rest, w); i >= 0 {
			rest = slices.Delete(rest, i, i+1)
			continue
		}
		d = append(d, "- "+w)
	}
	for _, g := range rest {
		d = append(d, "+ "+g)
	}
	return d
}

func numbered(doc string) string {
	var b strings.Builder
	for i, l := range strings.Split(strings.TrimSuffix(doc, "\n"), "\n") {
		fmt.Fprintf(&b, "%3d  %s\n", i+1, l)
	}
	return b.String()
}
