package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/wardsec/ward/pkg/rules"
)

// SARIF 2.1.0 (OASIS), the subset ward writes. GitHub code scanning, GitLab, Azure
// DevOps and the SARIF viewers read it.
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	// InformationURI is ward's home page, named in SARIF output.
	InformationURI = "https://github.com/wardsec/ward"
	// sarifSrcRoot is the base of relative file URIs: the directory ward ran in, which
	// in CI is the checkout (GitHub resolves it to the repository root).
	sarifSrcRoot = "%SRCROOT%"
	// fingerprintKey names ward's partial fingerprint: the rule, file, object, field and
	// message, not the line, so an alert survives lines moving above it.
	fingerprintKey = "wardObjectPath/v1"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Results     []sarifResult     `json:"results"`
	ColumnKind  string            `json:"columnKind"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string              `json:"id"`
	Name                 string              `json:"name"`
	ShortDescription     sarifText           `json:"shortDescription"`
	FullDescription      sarifText           `json:"fullDescription"`
	Help                 sarifMessage        `json:"help"`
	DefaultConfiguration sarifConfiguration  `json:"defaultConfiguration"`
	Properties           sarifRuleProperties `json:"properties"`
}

type sarifRuleProperties struct {
	Tags []string `json:"tags"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifMessage struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifConfiguration struct {
	Level string `json:"level"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           *int               `json:"ruleIndex,omitempty"`
	Level               string             `json:"level"`
	Message             sarifText          `json:"message"`
	Locations           []sarifLocation    `json:"locations"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysicalLocation `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogicalLocation `json:"logicalLocations,omitempty"`
}

type sarifPhysicalLocation struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	Region           *sarifRegion          `json:"region,omitempty"`
}

type sarifArtifactLocation struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

type sarifLogicalLocation struct {
	Name               string `json:"name,omitempty"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification,omitempty"`
}

// sarifFormatter writes one SARIF run: the tool with every rule, a result per finding
// (exempted findings as suppressed results) and input errors as tool execution
// notifications.
type sarifFormatter struct{ opts Options }

func (s sarifFormatter) Format(w io.Writer, r *Result) error {
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name:           "ward",
			Version:        s.opts.Version,
			InformationURI: InformationURI,
			Rules:          []sarifRule{},
		}},
		Invocations: []sarifInvocation{{ExecutionSuccessful: len(r.Errors) == 0}},
		Results:     []sarifResult{},
		// yaml.v3 counts columns in characters, not bytes.
		ColumnKind: "unicodeCodePoints",
	}
	index := map[string]int{}
	for i, rule := range s.opts.Rules {
		index[rule.ID] = i
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRuleOf(rule))
	}
	for _, f := range r.Findings {
		run.Results = append(run.Results, sarifResultOf(f, index))
	}
	for _, f := range r.Exempted {
		res := sarifResultOf(f, index)
		res.Suppressions = []sarifSuppression{{Kind: "inSource", Justification: f.Reason}}
		run.Results = append(run.Results, res)
	}
	for _, e := range r.Errors {
		n := sarifNotification{Level: "error", Message: sarifText{Text: e.Message}}
		if loc := physicalLocation(e.File, e.Line, 0); loc != nil {
			n.Locations = []sarifLocation{{PhysicalLocation: loc}}
		}
		run.Invocations[0].ToolExecutionNotifications = append(run.Invocations[0].ToolExecutionNotifications, n)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}}); err != nil {
		return fmt.Errorf("write sarif: %w", err)
	}
	return nil
}

func sarifRuleOf(rule *rules.Rule) sarifRule {
	full := firstNonEmpty(rule.Description, rule.Title)
	text := full + "\n\nRemediation: " + rule.Remediation
	var md strings.Builder
	fmt.Fprintf(&md, "**%s**\n\n%s\n", rule.Title, full)
	if rule.Why != "" {
		fmt.Fprintf(&md, "\n### Why\n\n%s\n", rule.Why)
	}
	fmt.Fprintf(&md, "\n### Remediation\n\n%s\n", rule.Remediation)
	if rule.BadExample != "" {
		fmt.Fprintf(&md, "\n### Bad\n\n```yaml\n%s\n```\n", strings.TrimRight(rule.BadExample, "\n"))
	}
	if rule.GoodExample != "" {
		fmt.Fprintf(&md, "\n### Good\n\n```yaml\n%s\n```\n", strings.TrimRight(rule.GoodExample, "\n"))
	}
	fmt.Fprintf(&md, "\n### Exemption\n\nAnnotate the object with `%s: \"<reason>\"`.\n", rule.IgnoreAnnotation())
	tags := []string{"kubernetes", "security"}
	if !rule.Builtin {
		tags = append(tags, "custom")
	}
	return sarifRule{
		ID:                   rule.ID,
		Name:                 pascalCase(rule.ID),
		ShortDescription:     sarifText{Text: rule.Title},
		FullDescription:      sarifText{Text: full},
		Help:                 sarifMessage{Text: text, Markdown: md.String()},
		DefaultConfiguration: sarifConfiguration{Level: sarifLevel(string(rule.Severity))},
		Properties:           sarifRuleProperties{Tags: tags},
	}
}

func sarifResultOf(f Finding, index map[string]int) sarifResult {
	res := sarifResult{
		RuleID:  f.Rule,
		Level:   sarifLevel(f.Severity),
		Message: sarifText{Text: f.Message},
		PartialFingerprints: map[string]string{
			fingerprintKey: fingerprint(f),
		},
	}
	if i, ok := index[f.Rule]; ok {
		res.RuleIndex = &i
	}
	loc := sarifLocation{PhysicalLocation: physicalLocation(f.File, f.Line, f.Column)}
	object := objectName(f.Object)
	loc.LogicalLocations = []sarifLogicalLocation{{Name: f.Object.Name, FullyQualifiedName: object, Kind: "resource"}}
	if f.Path != "" {
		loc.LogicalLocations = append(loc.LogicalLocations, sarifLogicalLocation{
			Name: lastPathElement(f.Path), FullyQualifiedName: object + "." + f.Path, Kind: "property",
		})
	}
	res.Locations = []sarifLocation{loc}
	return res
}

// objectName names an object the way kubectl's resource builder would print it, with
// its apiVersion: apps/v1/Deployment/shop/web; cluster-scoped objects have no
// namespace part.
func objectName(o Object) string {
	parts := []string{o.APIVersion, o.Kind}
	if o.Namespace != "" {
		parts = append(parts, o.Namespace)
	}
	return strings.Join(append(parts, o.Name), "/")
}

func lastPathElement(path string) string {
	if i := strings.LastIndexAny(path, ".["); i >= 0 {
		return strings.TrimSuffix(path[i+1:], "]")
	}
	return path
}

// physicalLocation places a file and line; nil for standard input without a source.
func physicalLocation(file string, line, col int) *sarifPhysicalLocation {
	if file == "" || file == "-" {
		return nil
	}
	loc := &sarifPhysicalLocation{ArtifactLocation: artifactLocation(file)}
	if line > 0 {
		loc.Region = &sarifRegion{StartLine: line}
		if col > 0 {
			loc.Region.StartColumn = col
		}
	}
	return loc
}

// artifactLocation turns a file path into a URI: relative paths (the usual case: paths
// as given on the command line) against %SRCROOT%, absolute ones as file URIs.
func artifactLocation(file string) sarifArtifactLocation {
	slash := filepath.ToSlash(filepath.Clean(file))
	if filepath.IsAbs(file) {
		u := url.URL{Scheme: "file", Path: slash}
		return sarifArtifactLocation{URI: u.String()}
	}
	u := url.URL{Path: strings.TrimPrefix(slash, "./")}
	return sarifArtifactLocation{URI: u.EscapedPath(), URIBaseID: sarifSrcRoot}
}

func sarifLevel(severity string) string {
	switch rules.Severity(severity) {
	case rules.SeverityError:
		return "error"
	case rules.SeverityWarning:
		return "warning"
	}
	return "note"
}

func fingerprint(f Finding) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{f.Rule, f.File, objectName(f.Object), f.Path, f.Message}, "\x00")))
	return hex.EncodeToString(sum[:16])
}

// pascalCase turns a rule ID into the identifier SARIF wants for a rule's name:
// drop-net-raw → DropNetRaw.
func pascalCase(id string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(id, "-") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
