package integrations

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// sarifSchema is the official OASIS SARIF 2.1.0 JSON schema, shipped with the report
// package's tests.
var sarifSchema = filepath.Join(repoRoot, "pkg", "report", "testdata", "sarif-schema-2.1.0.json")

func validateSARIF(t *testing.T, doc string) {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile(sarifSchema)
	if err != nil {
		t.Fatalf("compile the SARIF schema: %v", err)
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("SARIF output is not JSON: %v\n%s", err, doc)
	}
	if err := sch.Validate(v); err != nil {
		t.Fatalf("SARIF output does not satisfy the SARIF 2.1.0 schema: %v", err)
	}
}

type sarifLog struct {
	Version string `json:"version"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name    string `json:"name"`
				Version string `json:"version"`
				Rules   []struct {
					ID   string `json:"id"`
					Help struct {
						Text string `json:"text"`
					} `json:"help"`
					DefaultConfiguration struct {
						Level string `json:"level"`
					} `json:"defaultConfiguration"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Invocations []struct {
			ExecutionSuccessful        bool `json:"executionSuccessful"`
			ToolExecutionNotifications []struct {
				Level   string `json:"level"`
				Message struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations []sarifLocation `json:"locations"`
			} `json:"toolExecutionNotifications"`
		} `json:"invocations"`
		Results []struct {
			RuleID    string `json:"ruleId"`
			RuleIndex int    `json:"ruleIndex"`
			Level     string `json:"level"`
			Message   struct {
				Text string `json:"text"`
			} `json:"message"`
			Locations    []sarifLocation `json:"locations"`
			Suppressions []struct {
				Kind          string `json:"kind"`
				Justification string `json:"justification"`
			} `json:"suppressions"`
		} `json:"results"`
	} `json:"runs"`
}

type sarifLocation struct {
	PhysicalLocation struct {
		ArtifactLocation struct {
			URI       string `json:"uri"`
			URIBaseID string `json:"uriBaseId"`
		} `json:"artifactLocation"`
		Region struct {
			StartLine   int `json:"startLine"`
			StartColumn int `json:"startColumn"`
		} `json:"region"`
	} `json:"physicalLocation"`
	LogicalLocations []struct {
		FullyQualifiedName string `json:"fullyQualifiedName"`
		Kind               string `json:"kind"`
	} `json:"logicalLocations"`
}

func TestSARIF(t *testing.T) {
	dir := writeTree(t, mixed)
	r := ward(t, dir, "", "lint", "-o", "sarif", ".")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2 (broken.yaml); stderr: %s", r.code, r.stderr)
	}
	validateSARIF(t, r.stdout)
	var log sarifLog
	if err := json.Unmarshal([]byte(r.stdout), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("version %q, %d runs", log.Version, len(log.Runs))
	}
	run := log.Runs[0]
	if run.Tool.Driver.Name != "ward" || run.Tool.Driver.Version == "" || len(run.Tool.Driver.Rules) < 4 {
		t.Errorf("driver: %+v", run.Tool.Driver)
	}
	for _, rule := range run.Tool.Driver.Rules {
		if !strings.Contains(rule.Help.Text, "Remediation: ") || rule.DefaultConfiguration.Level == "" {
			t.Errorf("rule %s: help %q, level %q", rule.ID, rule.Help.Text, rule.DefaultConfiguration.Level)
		}
	}
	inv := run.Invocations[0]
	if inv.ExecutionSuccessful || len(inv.ToolExecutionNotifications) != 1 {
		t.Fatalf("invocation %+v, want unsuccessful with broken.yaml's error", inv)
	}
	if n := inv.ToolExecutionNotifications[0]; n.Level != "error" || n.Locations[0].PhysicalLocation.ArtifactLocation.URI != "broken.yaml" || n.Locations[0].PhysicalLocation.Region.StartLine != 4 {
		t.Errorf("notification %+v", n)
	}
	got := map[string]int{}
	for _, res := range run.Results {
		if run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("ruleIndex %d of %s names %s", res.RuleIndex, res.RuleID, run.Tool.Driver.Rules[res.RuleIndex].ID)
		}
		loc := res.Locations[0]
		key := res.RuleID + " " + res.Level + " " + loc.PhysicalLocation.ArtifactLocation.URI
		if len(res.Suppressions) > 0 {
			key += " suppressed: " + res.Suppressions[0].Kind + ": " + res.Suppressions[0].Justification
		}
		got[key]++
		if loc.PhysicalLocation.Region.StartLine < 1 || loc.PhysicalLocation.Region.StartColumn < 1 || loc.PhysicalLocation.ArtifactLocation.URIBaseID != "%SRCROOT%" {
			t.Errorf("%s: location %+v", key, loc.PhysicalLocation)
		}
		if len(loc.LogicalLocations) == 0 || loc.LogicalLocations[0].Kind != "resource" {
			t.Errorf("%s: logical locations %+v", key, loc.LogicalLocations)
		}
	}
	want := map[string]int{
		"drop-net-raw error shop/web%20app.yaml":                                                        2, // web drops nothing; debug adds NET_RAW
		"namespace-scoped-ingress warning shop/policies,v2.yaml":                                        1,
		"drop-net-raw error shop/exempt.yaml suppressed: inSource: needs raw sockets: ping, traceroute": 1,
	}
	if len(got) != len(want) {
		t.Errorf("results %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("results %q: %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
}

func TestSARIFOfTheExamples(t *testing.T) {
	r := ward(t, repoRoot, "", "lint", "-o", "sarif", "examples/bad", "examples/good", "examples/kustomize")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; stderr: %s", r.code, r.stderr)
	}
	validateSARIF(t, r.stdout)
	if !strings.Contains(r.stdout, `"uri": "examples/kustomize/base/deployment.yaml"`) {
		t.Error("no result at the Kustomize base")
	}
}

// junit is JUnit XML as Jenkins' junit plugin and GitLab read it.
type junit struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Cases    []struct {
			Name      string     `xml:"name,attr"`
			Classname string     `xml:"classname,attr"`
			Failures  []junitMsg `xml:"failure"`
			Errors    []junitMsg `xml:"error"`
			Skipped   []junitMsg `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

type junitMsg struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

func TestJUnit(t *testing.T) {
	dir := writeTree(t, mixed)
	out := filepath.Join(t.TempDir(), "ward.xml")
	// Several outputs at once: JUnit to a file, text on stdout.
	r := ward(t, dir, "", "lint", "-o", "junit="+out, "-o", "text", ".")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2; stderr: %s", r.code, r.stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc junit
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, data)
	}
	cases := map[string]string{} // testcase → outcome
	total := [4]int{}
	for _, s := range doc.Suites {
		n := [4]int{len(s.Cases), 0, 0, 0}
		for _, c := range s.Cases {
			if c.Classname != s.Name {
				t.Errorf("%s: classname %q in suite %q", c.Name, c.Classname, s.Name)
			}
			outcome := "passed"
			switch {
			case len(c.Failures) > 0:
				outcome, n[1] = "failed: "+c.Failures[0].Text, n[1]+1
			case len(c.Errors) > 0:
				outcome, n[2] = "error: "+c.Errors[0].Message, n[2]+1
			case len(c.Skipped) > 0:
				outcome, n[3] = "skipped: "+c.Skipped[0].Message, n[3]+1
			}
			cases[s.Name+" | "+c.Name] = outcome
		}
		if n != [4]int{s.Tests, s.Failures, s.Errors, s.Skipped} {
			t.Errorf("suite %s counts %d/%d/%d/%d, testcases %v", s.Name, s.Tests, s.Failures, s.Errors, s.Skipped, n)
		}
		for i := range total {
			total[i] += n[i]
		}
	}
	if total != [4]int{doc.Tests, doc.Failures, doc.Errors, doc.Skipped} {
		t.Errorf("totals %d/%d/%d/%d, suites add to %v", doc.Tests, doc.Failures, doc.Errors, doc.Skipped, total)
	}
	// 4 objects × 4 rules + broken.yaml's error; failures: drop-net-raw of web (both
	// containers in one testcase) and namespace-scoped-ingress of from-anywhere.
	if total != [4]int{17, 2, 1, 1} {
		t.Errorf("tests/failures/errors/skipped = %v, want [17 2 1 1]", total)
	}
	check := func(name, prefix string, contains ...string) {
		t.Helper()
		got, ok := cases[name]
		if !ok {
			t.Errorf("no testcase %q in %v", name, cases)
			return
		}
		if !strings.HasPrefix(got, prefix) {
			t.Errorf("%s: %q, want %s", name, got, prefix)
		}
		for _, c := range contains {
			if !strings.Contains(got, c) {
				t.Errorf("%s: %q lacks %q", name, got, c)
			}
		}
	}
	check("shop/web app.yaml | drop-net-raw Deployment shop/web", "failed", "shop/web app.yaml:10:11", "shop/web app.yaml:17:21", "spec.template.spec.containers[1].securityContext.capabilities.add[0]")
	check("shop/web app.yaml | default-deny Deployment shop/web", "passed")
	check("shop/policies,v2.yaml | namespace-scoped-ingress NetworkPolicy shop/from-anywhere", "failed")
	check("shop/exempt.yaml | drop-net-raw Pod shop/pinger", "skipped", "needs raw sockets")
	check("broken.yaml | input error at line 4", "error")
	if !strings.Contains(r.stdout, "shop/web app.yaml:10:11: error drop-net-raw") {
		t.Errorf("text output on stdout: %s", r.stdout)
	}
}

func TestGitHub(t *testing.T) {
	dir := writeTree(t, mixed)
	r := ward(t, dir, "", "lint", "-o", "github", ".")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2; stderr: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	want := []string{
		"::warning file=shop/policies%2Cv2.yaml,line=18,col=11,title=ward namespace-scoped-ingress::",
		"::error file=shop/web app.yaml,line=10,col=11,title=ward drop-net-raw::container \"web\" does not drop NET_RAW%0ADeployment shop/web, spec.template.spec.containers[0].securityContext.capabilities.drop%0ARemediation: ",
		"::error file=shop/web app.yaml,line=17,col=21,title=ward drop-net-raw::",
		"::error file=broken.yaml,line=4,title=ward input error::YAML syntax error",
		"ward: 3 findings (2 errors, 1 warning), 1 exempted, 1 input error in 5 files, 4 objects",
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), r.stdout)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d:\n got %q\nwant %q…", i+1, lines[i], w)
		}
	}
}
