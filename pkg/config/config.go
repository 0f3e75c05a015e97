// Package config reads .ward.yaml and merges it with command-line flags into the
// settings the engine, the reporters and the webhook use.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"

	yaml "go.yaml.in/yaml/v3"

	"github.com/wardsec/ward/pkg/engine"
	"github.com/wardsec/ward/pkg/rules"
)

// FileName is the config file looked up from the working directory upward.
const FileName = ".ward.yaml"

// DefaultExcludedNamespaces are exempt from every rule unless config says otherwise.
var DefaultExcludedNamespaces = []string{"kube-system"}

// ErrConfig marks an invalid config file; its text names the file and line.
var ErrConfig = errors.New("invalid config")

// File is .ward.yaml as written.
type File struct {
	// ExcludedNamespaces replaces the default [kube-system] when set (even to []).
	ExcludedNamespaces *[]string `yaml:"excludedNamespaces"`
	// Policies are extra Rego directories, relative to the config file.
	Policies []string `yaml:"policies"`
	// Rules configure rules by ID.
	Rules map[string]Rule `yaml:"rules"`
	// Webhook configures ward serve; ward lint ignores it.
	Webhook Webhook `yaml:"webhook"`

	path     string
	ruleLine map[string]int
}

// Rule configures one rule.
type Rule struct {
	Enabled     *bool          `yaml:"enabled"`
	Severity    string         `yaml:"severity"`
	Enforcement string         `yaml:"enforcement"`
	Parameters  map[string]any `yaml:"parameters"`
}

// Path is the file the config was read from; "" for the built-in defaults.
func (f *File) Path() string { return f.path }

// Find looks for .ward.yaml in dir and its parents; "" when there is none.
func Find(dir string) string {
	for {
		p := filepath.Join(dir, FileName)
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Load reads a config file strictly: an unknown field, a wrong type or bad YAML is an
// error naming the file and line. An empty path gives the defaults.
func Load(path string) (*File, error) {
	f := &File{path: path, ruleLine: map[string]int{}}
	if path == "" {
		return f, nil
	}
	data, err := os.ReadFile(path) //nolint:gosec // G304: the config file the user named or ward found
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %s", ErrConfig, yamlError(path, err))
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err == nil {
		recordRuleLines(&doc, f.ruleLine)
	}
	for i, p := range f.Policies {
		if !filepath.IsAbs(p) {
			f.Policies[i] = filepath.Join(filepath.Dir(path), p)
		}
	}
	return f, nil
}

var yamlLineRE = regexp.MustCompile(`line (\d+): `)

// yamlError rewrites yaml.v3's "yaml: line 3: ..." as "file:3: ...".
func yamlError(path string, err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msgs := make([]string, len(te.Errors))
		for i, e := range te.Errors {
			msgs[i] = withFile(path, e)
		}
		return joinLines(msgs)
	}
	return withFile(path, err.Error())
}

func withFile(path, msg string) string {
	msg = regexp.MustCompile(`^yaml: (unmarshal errors:\n\s*)?`).ReplaceAllString(msg, "")
	if m := yamlLineRE.FindStringSubmatchIndex(msg); m != nil && m[0] == 0 {
		return fmt.Sprintf("%s:%s: %s", path, msg[m[2]:m[3]], msg[m[1]:])
	}
	return fmt.Sprintf("%s: %s", path, msg)
}

func joinLines(s []string) string {
	var b bytes.Buffer
	for i, l := range s {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(l)
	}
	return b.String()
}

func recordRuleLines(doc *yaml.Node, lines map[string]int) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "rules" {
			continue
		}
		r := root.Content[i+1]
		for j := 0; j+1 < len(r.Content); j += 2 {
			lines[r.Content[j].Value] = r.Content[j].Line
		}
	}
}

// Flags are the command-line settings that override the file.
type Flags struct {
	Enable, Disable []string
}

// Settings are the resolved settings of every rule.
type Settings struct {
	ExcludedNamespaces []string
	Rules              map[string]RuleSettings
	// Webhook holds ward serve's settings, defaults applied.
	Webhook WebhookSettings
}

// RuleSettings are one rule's resolved settings.
type RuleSettings struct {
	Enabled     bool
	Severity    rules.Severity
	Enforcement rules.Enforcement
	// Parameters are the overrides from config; the engine merges them over the rule's
	// defaults.
	Parameters map[string]any
}

// Resolve checks the config against the loaded rules and applies the flags. A rule ID
// that names no rule is an error, in the file (with its line) or in a flag.
func (f *File) Resolve(reg *rules.Registry, flags Flags) (*Settings, error) {
	s := &Settings{ExcludedNamespaces: slices.Clone(DefaultExcludedNamespaces), Rules: map[string]RuleSettings{}}
	if f.ExcludedNamespaces != nil {
		s.ExcludedNamespaces = slices.Clone(*f.ExcludedNamespaces)
	}
	for _, r := range reg.List() {
		s.Rules[r.ID] = RuleSettings{Enabled: true, Severity: r.Severity, Enforcement: r.Enforcement}
	}
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(f.Rules)) {
		rc := f.Rules[id]
		where := f.path
		if line := f.ruleLine[id]; line > 0 {
			where += ":" + strconv.Itoa(line)
		}
		rs, ok := s.Rules[id]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %w %q (known: %v)", where, rules.ErrUnknownRule, id, reg.IDs()))
			continue
		}
		if rc.Enabled != nil {
			rs.Enabled = *rc.Enabled
		}
		if rc.Severity != "" {
			sev, err := rules.ParseSeverity(rc.Severity)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: rule %s: %w", where, id, err))
			}
			rs.Severity = sev
		}
		if rc.Enforcement != "" {
			enf, err := rules.ParseEnforcement(rc.Enforcement)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: rule %s: %w", where, id, err))
			}
			rs.Enforcement = enf
		}
		rs.Parameters = rc.Parameters
		s.Rules[id] = rs
	}
	for _, id := range flags.Enable {
		if err := s.set(id, true, reg); err != nil {
			errs = append(errs, fmt.Errorf("--enable: %w", err))
		}
	}
	for _, id := range flags.Disable {
		if err := s.set(id, false, reg); err != nil {
			errs = append(errs, fmt.Errorf("--disable: %w", err))
		}
	}
	webhook, err := f.Webhook.resolve()
	if err != nil {
		errs = append(errs, fmt.Errorf("%s: webhook: %w", f.path, err))
	}
	s.Webhook = webhook
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return s, nil
}

func (s *Settings) set(id string, on bool, reg *rules.Registry) error {
	rs, ok := s.Rules[id]
	if !ok {
		return fmt.Errorf("%w %q (known: %v)", rules.ErrUnknownRule, id, reg.IDs())
	}
	rs.Enabled = on
	s.Rules[id] = rs
	return nil
}

// Engine returns the settings the engine evaluates with.
func (s *Settings) Engine() engine.Settings {
	es := engine.Settings{Enabled: []string{}, Parameters: map[string]map[string]any{}, ExcludedNamespaces: s.ExcludedNamespaces}
	for _, id := range slices.Sorted(maps.Keys(s.Rules)) {
		rs := s.Rules[id]
		if !rs.Enabled {
			continue
		}
		es.Enabled = append(es.Enabled, id)
		if rs.Parameters != nil {
			es.Parameters[id] = rs.Parameters
		}
	}
	return es
}
