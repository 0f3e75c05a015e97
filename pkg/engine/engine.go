package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/go-logr/logr"
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/wardsec/ward/pkg/rules"
	"github.com/wardsec/ward/policies"
)

// rulesPackage is the package prefix under which every rule lives.
const rulesPackage = "ward.rules."

// embeddedPrefix names the embedded library's files in errors and rule sources; it
// cannot collide with a user's --policy directory path.
const embeddedPrefix = "embedded:policies"

// Options configure New.
type Options struct {
	// PolicyDirs are user rule directories (--policy), loaded beside the embedded library.
	PolicyDirs []string
	// Logger receives debug output; the zero value discards.
	Logger logr.Logger
	// TopdownOnly has every rule evaluated by OPA's topdown evaluator, never planned
	// and run by the interpreter (plan.go), for comparing the two: both give the same
	// verdicts, which tests hold them to.
	TopdownOnly bool
	// Preloaded, if set, is the embedded library loaded ahead of New by Preload; New
	// waits for it instead of loading the library itself. The first New without
	// PolicyDirs takes its compiled rules; any other compiles its own from its parse.
	Preloaded *Preloaded
}

// Engine is the compiled rule set. It is safe for concurrent use.
type Engine struct {
	compiler *ast.Compiler
	registry *rules.Registry
	log      logr.Logger
	// purity says which rules may be memoized across evaluations (memo.go).
	purity *purity
	// kinds says, by rule package, which reviews a rule can find anything in
	// (dispatch.go).
	kinds map[string]kindFilter
	// readsInventory says, by rule package, which rules read data.inventory, directly
	// or through other rules (memo.go's analysis); a rule not in it never does.
	readsInventory map[string]bool
	// plans are the planned rules the interpreter runs (plan.go, vm.go), made in the
	// background once the engine has evaluated enough to pay for them.
	plans *plans
}

// New loads and compiles the embedded rule library and opts.PolicyDirs. A policy that
// does not parse or compile is an error naming its file and line.
func New(ctx context.Context, opts Options) (*Engine, error) {
	var modules map[string]*ast.Module
	if p := opts.Preloaded; p != nil {
		if len(opts.PolicyDirs) == 0 {
			if err := wait(ctx, p.compiled); err != nil {
				return nil, err
			}
			if e, ok, err := p.take(); ok {
				if err != nil {
					return nil, err
				}
				e.setOptions(opts)
				return e, nil
			}
		}
		if err := wait(ctx, p.parsed); err != nil {
			return nil, err
		}
		if p.loadErr != nil {
			return nil, p.loadErr
		}
		// Compile copies the modules it is given, so the parsed library is shared as
		// is, with Preload's own compile of it too.
		modules = maps.Clone(p.modules)
	} else {
		var err error
		if modules, err = Library(); err != nil {
			return nil, err
		}
	}
	for _, dir := range opts.PolicyDirs {
		user, err := loadDir(dir, false)
		if err != nil {
			return nil, err
		}
		maps.Copy(modules, user)
	}
	e, err := compile(modules, len(opts.PolicyDirs) == 0)
	if err != nil {
		return nil, err
	}
	e.setOptions(opts)
	return e, nil
}

// setOptions applies what opts say of a compiled engine: its logger, and whether the
// interpreter may run its rules.
func (e *Engine) setOptions(opts Options) {
	if opts.TopdownOnly {
		e.plans = &plans{}
		e.plans.ready.Store(&map[string]*program{})
	}
	e.setLogger(opts.Logger)
}

// setLogger keeps log and tells it, at V(1), how each rule will be run: the kinds it is
// evaluated on (dispatch.go) and whether it reads data.inventory. A user rule that
// never fires on a kind it means to judge, or that ward lint holds back for its second
// pass, shows why here.
func (e *Engine) setLogger(log logr.Logger) {
	e.log = log
	e.plans.log = log
	if !log.V(1).Enabled() {
		return
	}
	for _, id := range e.registry.IDs() {
		rule, _ := e.registry.Get(id)
		kinds := "every kind"
		if f, ok := e.kinds[rule.Package]; ok && !f.all {
			kinds = strings.Join(slices.Sorted(maps.Keys(f.object)), ",")
			if len(f.oldObject) > 0 {
				kinds += " (old object: " + strings.Join(slices.Sorted(maps.Keys(f.oldObject)), ",") + ")"
			}
		}
		log.V(1).Info("rule compiled", "rule", id, "package", rule.Package, "source", rule.Source, "evaluatedOn", kinds, "readsInventory", e.ReadsInventory(id))
	}
}

// compile compiles modules and reads their rules' METADATA: everything New does after
// parsing. libraryOnly says that modules are the embedded library alone.
func compile(modules map[string]*ast.Module, libraryOnly bool) (*Engine, error) {
	compiler := ast.NewCompiler().
		WithCapabilities(capabilities()).
		WithEnablePrintStatements(false)
	if libraryOnly {
		// The type checker is an eighth of the compile, on the path of every ward lint,
		// and it only reports: TestLibraryTypeChecks runs it on the library, which
		// cannot change after the build. Rules from --policy are always checked.
		compiler = compiler.WithSkipStages(ast.StageCheckTypes)
	}
	if compiler.Compile(modules); compiler.Failed() {
		return nil, fmt.Errorf("%w: %w", ErrCompile, compiler.Errors)
	}
	reg, err := registry(modules)
	if err != nil {
		return nil, err
	}
	p, reads := analyseRules(compiler)
	e := &Engine{compiler: compiler, registry: reg, purity: p, kinds: dispatch(compiler, reg), readsInventory: inventoryRules(compiler, reg, reads)}
	var planned, inventory []string
	for _, id := range reg.IDs() {
		if rule, _ := reg.Get(id); !e.ReadsInventory(id) {
			planned = append(planned, rule.Package)
		} else {
			inventory = append(inventory, rule.Package)
		}
	}
	e.plans = &plans{modules: modules, pkgs: planned, inventory: inventory}
	return e, nil
}

// Preloaded is the embedded library, parsed and compiled by a goroutine that Preload
// started. Pass it to New in Options.Preloaded.
type Preloaded struct {
	// parsed is closed once modules and loadErr are set, compiled once engine and err
	// are; each field is read-only after.
	parsed, compiled chan struct{}
	modules          map[string]*ast.Module // the parsed library
	loadErr          error                  // reading or parsing it failed
	engine           *Engine                // the library compiled alone
	err              error                  // compiling it failed
	// taken is set by the one New that gets engine: an Engine is not shared, so that
	// each keeps its compiler to itself, as when New compiles.
	taken atomic.Bool
}

// Preload starts parsing and compiling the embedded library in a goroutine of its own
// and returns at once, so that the work overlaps whatever the caller does before New.
// cmd/ward calls it while Go initialises the webhook's dependencies (package init, some
// 10 ms that cannot be deferred): on two cores that takes most of the compile off the
// path of a one-file ward lint.
func Preload() *Preloaded {
	p := &Preloaded{parsed: make(chan struct{}), compiled: make(chan struct{})}
	go func() {
		defer close(p.compiled)
		p.modules, p.loadErr = Library()
		close(p.parsed)
		if p.loadErr == nil {
			p.engine, p.err = compile(p.modules, true)
		}
	}()
	return p
}

// take hands the compiled library to its first taker; ok is false for every other,
// which compiles its own.
func (p *Preloaded) take() (e *Engine, ok bool, err error) {
	if !p.taken.CompareAndSwap(false, true) {
		return nil, false, nil
	}
	if p.loadErr != nil {
		return nil, true, p.loadErr
	}
	return p.engine, true, p.err
}

// wait waits for done or the end of ctx.
func wait(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("load policies: %w", ctx.Err())
	}
}

// ReadsInventory reports whether the rule with this ID may read data.inventory, directly
// or through the rules and functions it calls. A rule that does not cannot have its
// verdict on an object changed by any other object: ward lint evaluates it while
// reading, before the inventory is complete. Unknown IDs, and every rule when the
// analysis cannot be made (a "with" that replaces data), count as reading it.
func (e *Engine) ReadsInventory(id string) bool {
	rule, ok := e.registry.Get(id)
	if !ok || e.readsInventory == nil {
		return true
	}
	return e.readsInventory[rule.Package]
}

// inventoryRules says, by rule package, whether some violation rule of the package
// reads the inventory (reads, from analyseRules); nil when reads is nil.
func inventoryRules(c *ast.Compiler, reg *rules.Registry, reads map[*ast.Rule]bool) map[string]bool {
	if reads == nil {
		return nil
	}
	out := map[string]bool{}
	for _, id := range reg.IDs() {
		rule, _ := reg.Get(id)
		// GetRules, not GetRulesExact: rules with refs below violation (general ref
		// heads) are part of the set too.
		for _, r := range c.GetRules(violationRef(rule.Package)) {
			out[rule.Package] = out[rule.Package] || reads[r]
		}
	}
	return out
}

// Rules returns the registry of every loaded rule.
func (e *Engine) Rules() *rules.Registry { return e.registry }

// capabilities are this OPA's built-ins less those that reach the network or the
// machine: a rule runs inside an admission webhook and must not call out of it.
func capabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	denied := map[string]bool{
		"http.send": true, "net.lookup_ip_addr": true, "opa.runtime": true,
		"trace": true,
	}
	caps.Builtins = slices.DeleteFunc(caps.Builtins, func(b *ast.Builtin) bool { return denied[b.Name] })
	return caps
}

// registry reads each rule package's METADATA into a rules.Registry.
func registry(modules map[string]*ast.Module) (*rules.Registry, error) {
	var list []*rules.Rule
	var errs []error
	seen := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(modules)) {
		m := modules[name]
		pkg := strings.TrimPrefix(m.Package.Path.String(), "data.")
		if !strings.HasPrefix(pkg, rulesPackage) || seen[pkg] {
			continue
		}
		short := strings.TrimPrefix(pkg, rulesPackage)
		if strings.Contains(short, ".") {
			continue // a helper package below a rule
		}
		rule, err := ruleFromModule(name, m, short)
		if err != nil {
			if errors.Is(err, ErrNoRuleMetadata) {
				// Another file of the same package may carry the METADATA.
				continue
			}
			errs = append(errs, err)
			continue
		}
		seen[pkg] = true
		list = append(list, rule)
	}
	for _, name := range slices.Sorted(maps.Keys(modules)) {
		pkg := strings.TrimPrefix(modules[name].Package.Path.String(), "data.")
		short := strings.TrimPrefix(pkg, rulesPackage)
		if strings.HasPrefix(pkg, rulesPackage) && !strings.Contains(short, ".") && !seen[pkg] {
			errs = append(errs, fmt.Errorf("%s: package %s: %w", name, pkg, ErrNoRuleMetadata))
			seen[pkg] = true
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return rules.NewRegistry(list)
}

func ruleFromModule(file string, m *ast.Module, pkg string) (*rules.Rule, error) {
	var a *ast.Annotations
	for _, ann := range m.Annotations {
		if ann.Scope == "package" {
			a = ann
			break
		}
	}
	if a == nil || a.Custom["id"] == nil {
		return nil, fmt.Errorf("%s: %w", file, ErrNoRuleMetadata)
	}
	c := a.Custom
	rule := &rules.Rule{
		ID:          customString(c, "id"),
		Title:       a.Title,
		Description: strings.TrimSpace(a.Description),
		Severity:    rules.Severity(customString(c, "severity")),
		Remediation: strings.TrimSpace(customString(c, "remediation")),
		Why:         strings.TrimSpace(customString(c, "why")),
		Exemption:   strings.TrimSpace(customString(c, "exemption")),
		Enforcement: rules.Enforcement(customString(c, "enforcement")),
		Package:     pkg,
		Source:      file,
		Builtin:     strings.HasPrefix(file, embeddedPrefix+"/"),
	}
	if rule.Enforcement == "" {
		rule.Enforcement = rules.EnforcementDeny
	}
	if p, ok := c["parameters"].(map[string]any); ok {
		rule.Parameters = p
	}
	rule.GoodExample = readExample(file, "good.yaml")
	rule.BadExample = readExample(file, "bad.yaml")
	return rule, nil
}

func customString(c map[string]any, key string) string {
	s, _ := c[key].(string)
	return s
}

// readExample reads examples/<name> beside a rule's Rego file: from the embedded
// library for built-in rules, from disk for --policy rules.
func readExample(regoFile, name string) string {
	var b []byte
	var err error
	if rest, ok := strings.CutPrefix(regoFile, embeddedPrefix+"/"); ok {
		b, err = fs.ReadFile(policies.FS, path.Join(path.Dir(rest), "examples", name))
	} else {
		b, err = os.ReadFile(filepath.Join(filepath.Dir(filepath.FromSlash(regoFile)), "examples", name)) //nolint:gosec // G304: beside a --policy file the user named
	}
	if err != nil {
		return ""
	}
	return string(b)
}
