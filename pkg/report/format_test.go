package report_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/wardsec/ward/pkg/report"
	"github.com/wardsec/ward/pkg/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites the file under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/report -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got; go test ./pkg/report -update rewrites it):\n%s", name, diff)
	}
}

func testRules() []*rules.Rule {
	return []*rules.Rule{
		{
			ID: "drop-net-raw", Title: "Containers drop NET_RAW", Severity: rules.SeverityError,
			Description: "Every container drops NET_RAW.", Why: "Raw sockets spoof traffic.",
			Remediation: "Add NET_RAW to securityContext.capabilities.drop.", Builtin: true,
			BadExample: "kind: Pod\n",
		},
		{
			ID: "my-rule", Title: "A user rule", Severity: rules.SeverityWarning,
			Remediation: "Fix it, then: rerun, 100% sure.",
		},
	}
}

// testResult has what makes formats go wrong: warnings and errors, two findings of one
// object and rule, an exemption, input errors with and without a line, standard input,
// and messages with quotes, colons, commas, percent signs, newlines, XML and control
// characters.
func testResult() *report.Result {
	web := report.Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	ns := report.Object{APIVersion: "v1", Kind: "Namespace", Name: "shop"}
	pod := report.Object{APIVersion: "v1", Kind: "Pod", Namespace: "default", Name: "p"}
	r := &report.Result{
		Findings: []report.Finding{
			{Rule: "drop-net-raw", Severity: "error", Message: `container "web" does not drop NET_RAW`, File: "deploy/web app.yaml", Line: 21, Column: 11, Object: web, Path: "spec.template.spec.containers[0].securityContext"},
			{Rule: "drop-net-raw", Severity: "error", Message: `container "side" is privileged`, File: "deploy/web app.yaml", Line: 30, Column: 13, Object: web, Path: "spec.template.spec.containers[1].securityContext.privileged"},
			{Rule: "my-rule", Severity: "warning", Message: "100% wrong: a, b\nsecond line\r <x>&</x> ]]> \x01", File: "deploy/web app.yaml", Line: 4, Column: 3, Object: web, Path: "metadata.labels"},
			{Rule: "drop-net-raw", Severity: "error", Message: `container "c" does not drop NET_RAW`, File: "-", Line: 9, Column: 7, Object: pod, Path: "spec.containers[0]"},
		},
		Exempted: []report.Finding{
			{Rule: "my-rule", Severity: "warning", Message: "namespace has no owner", File: "deploy/ns.yaml", Line: 3, Column: 3, Object: ns, Path: "metadata", Reason: "owned by: platform, see %TICKET%"},
		},
		Errors: []report.InputError{
			{File: "deploy/bad.yaml", Line: 3, Message: "YAML syntax error: did not find expected node content"},
			{File: "missing.yaml", Message: "no such file or directory"},
		},
		Summary: report.Summary{Files: 5, Objects: 3},
		Checks: []report.Check{
			{File: "deploy/web app.yaml", Line: 1, Object: web, Rules: []string{"drop-net-raw", "my-rule"}},
			{File: "deploy/ns.yaml", Line: 1, Object: ns, Rules: []string{"drop-net-raw", "my-rule"}},
			{File: "-", Line: 2, Object: pod, Rules: []string{"drop-net-raw", "my-rule"}},
			{File: "deploy/kube-system.yaml", Line: 1, Object: report.Object{APIVersion: "v1", Kind: "Pod", Namespace: "kube-system", Name: "excluded"}},
		},
	}
	r.Sort()
	return r
}

func format(t *testing.T, name string, r *report.Result) string {
	t.Helper()
	f, err := report.New(name, report.Options{Version: "v1.2.3", Rules: testRules()})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Format(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestGolden(t *testing.T) {
	empty := &report.Result{Summary: report.Summary{Files: 1}}
	empty.Sort()
	for _, name := range []string{"sarif", "junit", "github"} {
		t.Run(name, func(t *testing.T) {
			golden(t, name+".golden", format(t, name, testResult()))
			golden(t, name+"-empty.golden", format(t, name, empty))
		})
	}
}

func TestNewUnknownFormat(t *testing.T) {
	_, err := report.New("xml", report.Options{})
	if !errors.Is(err, report.ErrUnknownFormat) {
		t.Fatalf("err = %v, want ErrUnknownFormat", err)
	}
	for _, f := range report.Formats() {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not list %s", err, f)
		}
		if _, err := report.New(f, report.Options{}); err != nil {
			t.Errorf("New(%q): %v", f, err)
		}
	}
}

// ValidateSARIF checks a SARIF document against the OASIS SARIF 2.1.0 schema in
// testdata, formats asserted.
func validateSARIF(t *testing.T, doc []byte) {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile("testdata/sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatalf("compile the SARIF schema: %v", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("SARIF output is not JSON: %v", err)
	}
	if err := sch.Validate(v); err != nil {
		t.Fatalf("SARIF output does not satisfy the schema: %v\n%s", err, doc)
	}
}

func TestSARIF(t *testing.T) {
	out := format(t, "sarif", testResult())
	validateSARIF(t, []byte(out))
	empty := &report.Result{}
	empty.Sort()
	validateSARIF(t, []byte(format(t, "sarif", empty)))

	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Name, Version string
					Rules         []struct{ ID string }
				}
			}
			Invocations []struct {
				ExecutionSuccessful        bool
				ToolExecutionNotifications []struct{ Level string }
			}
			Results []struct {
				RuleID       string
				RuleIndex    int
				Level        string
				Suppressions []struct{ Kind, Justification string }
				Locations    []struct {
					PhysicalLocation *struct {
						ArtifactLocation struct{ URI, URIBaseID string }
						Region           struct{ StartLine, StartColumn int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatal(err)
	}
	if len(log.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(log.Runs))
	}
	run := log.Runs[0]
	if run.Tool.Driver.Name != "ward" || run.Tool.Driver.Version != "v1.2.3" || len(run.Tool.Driver.Rules) != 2 {
		t.Errorf("driver = %+v", run.Tool.Driver)
	}
	if inv := run.Invocations[0]; inv.ExecutionSuccessful || len(inv.ToolExecutionNotifications) != 2 {
		t.Errorf("invocation = %+v, want unsuccessful with 2 notifications", inv)
	}
	if len(run.Results) != 5 {
		t.Fatalf("%d results, want 4 findings + 1 exempted", len(run.Results))
	}
	suppressed := 0
	for _, res := range run.Results {
		if run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %s: ruleIndex %d names %s", res.RuleID, res.RuleIndex, run.Tool.Driver.Rules[res.RuleIndex].ID)
		}
		if len(res.Suppressions) > 0 {
			suppressed++
			if s := res.Suppressions[0]; s.Kind != "inSource" || s.Justification != "owned by: platform, see %TICKET%" {
				t.Errorf("suppression = %+v", s)
			}
		}
		if pl := res.Locations[0].PhysicalLocation; pl != nil && pl.ArtifactLocation.URI == "deploy/web%20app.yaml" && pl.Region.StartLine == 21 {
			if pl.Region.StartColumn != 11 || pl.ArtifactLocation.URIBaseID != "%SRCROOT%" {
				t.Errorf("location = %+v", pl)
			}
		}
	}
	if suppressed != 1 {
		t.Errorf("%d suppressed results, want 1", suppressed)
	}
}

// junitDoc is JUnit XML as a consumer reads it: the Ant/Surefire elements and the
// attributes Jenkins and GitLab use.
type junitDoc struct {
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
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Failure   []struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error []struct {
				Message string `xml:"message,attr"`
			} `xml:"error"`
			Skipped []struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestJUnit(t *testing.T) {
	out := format(t, "junit", testResult())
	var doc junitDoc
	dec := xml.NewDecoder(strings.NewReader(out))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, out)
	}
	// Suites: "-" (stdin), bad.yaml, ns.yaml, "web app.yaml", missing.yaml. The
	// excluded Pod has no rules and so no testcases, and no suite.
	var names []string
	tests, failures, errs, skipped := 0, 0, 0, 0
	for _, s := range doc.Suites {
		names = append(names, s.Name)
		if s.Tests != len(s.Cases) {
			t.Errorf("suite %s: tests=%d, %d testcases", s.Name, s.Tests, len(s.Cases))
		}
		f, e, sk := 0, 0, 0
		for _, c := range s.Cases {
			if c.Classname != s.Name {
				t.Errorf("testcase %q: classname %q, want the file %q", c.Name, c.Classname, s.Name)
			}
			if len(c.Failure)+len(c.Error)+len(c.Skipped) > 1 {
				t.Errorf("testcase %q has more than one outcome", c.Name)
			}
			f += len(c.Failure)
			e += len(c.Error)
			sk += len(c.Skipped)
		}
		if s.Failures != f || s.Errors != e || s.Skipped != sk {
			t.Errorf("suite %s counts (%d,%d,%d), testcases say (%d,%d,%d)", s.Name, s.Failures, s.Errors, s.Skipped, f, e, sk)
		}
		tests, failures, errs, skipped = tests+s.Tests, failures+f, errs+e, skipped+sk
	}
	want := []string{"<stdin>", "deploy/bad.yaml", "deploy/ns.yaml", "deploy/web app.yaml", "missing.yaml"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("suites (-want +got):\n%s", diff)
	}
	// 3 objects × 2 rules, plus 2 input errors.
	if doc.Tests != 8 || tests != 8 || doc.Failures != 3 || doc.Errors != 2 || doc.Skipped != 1 {
		t.Errorf("totals tests=%d failures=%d errors=%d skipped=%d, want 8 3 2 1", doc.Tests, doc.Failures, doc.Errors, doc.Skipped)
	}
	if failures != doc.Failures || errs != doc.Errors || skipped != doc.Skipped {
		t.Errorf("totals disagree with suites: %d %d %d", failures, errs, skipped)
	}
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			if c.Name == "drop-net-raw Deployment shop/web" {
				if len(c.Failure) != 1 || !strings.Contains(c.Failure[0].Text, "deploy/web app.yaml:21:11") || !strings.Contains(c.Failure[0].Text, "deploy/web app.yaml:30:13") {
					t.Errorf("failure of %q = %+v, want both findings", c.Name, c.Failure)
				}
			}
			if c.Name == "my-rule Namespace shop" && (len(c.Skipped) != 1 || !strings.Contains(c.Skipped[0].Message, "owned by: platform")) {
				t.Errorf("testcase %q: skipped = %+v", c.Name, c.Skipped)
			}
		}
	}
}

func TestGitHubEscaping(t *testing.T) {
	out := format(t, "github", testResult())
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	// 4 findings, 2 input errors, the summary; no raw CR or LF inside a command.
	if len(lines) != 7 {
		t.Fatalf("%d lines, want 7:\n%s", len(lines), out)
	}
	for _, l := range lines[:6] {
		if !strings.HasPrefix(l, "::error ") && !strings.HasPrefix(l, "::warning ") {
			t.Errorf("not a workflow command: %q", l)
		}
		if strings.Contains(l, "\r") {
			t.Errorf("raw CR in %q", l)
		}
	}
	want := "::warning file=deploy/web app.yaml,line=4,col=3,title=ward my-rule::100%25 wrong: a, b%0Asecond line%0D <x>&</x> ]]> \x01%0ADeployment shop/web, metadata.labels%0ARemediation: Fix it, then: rerun, 100%25 sure."
	if !strings.Contains(out, want+"\n") {
		t.Errorf("output lacks\n%q\ngot\n%s", want, out)
	}
}

func TestGitHubPropertyEscaping(t *testing.T) {
	r := &report.Result{Findings: []report.Finding{{
		Rule: "r", Severity: "error", Message: "m", File: "dir,a/b:c%d\ne.yaml", Line: 1, Column: 2,
		Object: report.Object{Kind: "Pod", Name: "p"},
	}}}
	r.Sort()
	out := format(t, "github", r)
	want := "::error file=dir%2Ca/b%3Ac%25d%0Ae.yaml,line=1,col=2,title=ward r::m%0APod p\n"
	if !strings.HasPrefix(out, want) {
		t.Errorf("got %q, want prefix %q", out, want)
	}
}
