// Package kustomize renders kustomizations with the Kustomize library kubectl uses
// (sigs.k8s.io/kustomize/api/krusty) and places every rendered object in the source
// file that defined it, so that findings point at the line a user edits.
//
// Tracing: the root kustomization is built with buildMetadata [originAnnotations]
// added (in memory: the file on disk is not touched), so each resource carries
// config.kubernetes.io/origin with the path of the resource file it came from,
// relative to the root. The rendered object is matched in that file by kind and name
// (names compared before and after prefixes, suffixes and hashes) and namespace; its
// findings are then placed by walking their path in the source document, stopping at
// the deepest field the source holds (a field a patch adds is placed at its nearest
// ancestor in the base). An object that cannot be traced (a generated ConfigMap, a
// remote base) is placed at the kustomization file. The origin annotation is removed
// before the object is linted, unless the kustomization asked for it itself.
package kustomize

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/wardsec/ward/pkg/manifest"
)

// OriginAnnotation is the annotation Kustomize's originAnnotations build option adds.
const OriginAnnotation = "config.kubernetes.io/origin"

// Result is what rendering a set of kustomizations gives.
type Result struct {
	// Objects are the rendered objects, placed in their source files.
	Objects []*manifest.Object
	// Errors are kustomizations that could not be rendered.
	Errors []*manifest.Error
	// Files counts the files the renderings read (kustomizations, resources, patches).
	Files int
	// Skipped are the directories not rendered on their own: bases and components
	// that another kustomization of the set renders, and components nothing uses.
	Skipped []string
}

// build is one kustomization rendered.
type build struct {
	dir      string // as given
	kustFile string // as shown: dir joined with the kustomization file's name
	absFile  string
	objects  []*manifest.Object
	err      error
	read     map[string]bool // absolute paths of the files krusty read
	comp     bool            // a Component: never built on its own
}

// Render renders each directory and places the objects. A directory that another one
// of dirs uses (a base, a component) is not rendered on its own, so its objects are
// not linted twice; its render errors then do not count either.
func Render(ctx context.Context, dirs []string) *Result {
	return RenderWith(ctx, dirs, nil)
}

// RenderWith is Render with the rendered objects' values made by b (nil:
// manifest.MapBuilder), as manifest.Options.Builder makes those of files.
func RenderWith(ctx context.Context, dirs []string, b manifest.Builder) *Result {
	builds := make([]*build, len(dirs))
	for i, dir := range dirs {
		if err := ctx.Err(); err != nil {
			builds[i] = &build{dir: dir, kustFile: dir, err: err}
			continue
		}
		builds[i] = renderOne(dir, b)
	}
	used := map[string]bool{} // kustomization files read by another build
	for _, b := range builds {
		for p := range b.read {
			if p != b.absFile {
				used[p] = true
			}
		}
	}
	res := &Result{}
	files := map[string]bool{}
	for _, b := range builds {
		if used[b.absFile] || (b.comp && b.err == nil) {
			res.Skipped = append(res.Skipped, b.dir)
			continue
		}
		for p := range b.read {
			files[p] = true
		}
		if b.err != nil {
			res.Errors = append(res.Errors, &manifest.Error{File: b.kustFile, Err: b.err})
			continue
		}
		res.Objects = append(res.Objects, b.objects...)
	}
	res.Files = len(files)
	return res
}

// renderOne builds one kustomization directory and traces its objects.
func renderOne(dir string, builder manifest.Builder) *build {
	b := &build{dir: dir, kustFile: dir}
	kf := manifest.KustomizationFile(dir)
	if kf == "" {
		b.err = fmt.Errorf("kustomize: no kustomization file (%s) in %s", strings.Join(manifest.KustomizationFileNames, ", "), dir)
		return b
	}
	b.kustFile = filepath.Join(dir, filepath.Base(kf))
	disk := filesys.MakeFsOnDisk()
	root, _, err := disk.CleanedAbs(dir)
	if err != nil {
		b.err = fmt.Errorf("kustomize build %s: %w", dir, err)
		return b
	}
	b.absFile = filepath.Join(root.String(), filepath.Base(kf))
	fsys := &recordingFS{FileSystem: disk, inject: b.absFile, read: map[string]bool{}}
	data, err := os.ReadFile(kf) //nolint:gosec // G304: the kustomization the user asked to lint
	if err == nil {
		b.comp = isComponent(data)
	}
	if b.comp {
		// A component is built only into the kustomizations that list it.
		b.read = fsys.read
		b.read[b.absFile] = true
		return b
	}
	opts := krusty.MakeDefaultOptions()
	m, err := krusty.MakeKustomizer(opts).Run(fsys, root.String())
	b.read = fsys.snapshot()
	b.read[b.absFile] = true
	if err != nil {
		b.err = fmt.Errorf("kustomize build %s: %w", dir, err)
		return b
	}
	tr := &tracer{dir: dir, root: root.String(), kustFile: b.kustFile, keepOrigin: fsys.hadOrigin, sources: map[string]*manifest.Set{}, builder: builder}
	for _, r := range m.Resources() {
		objs, err := tr.place(r)
		if err != nil {
			b.err = fmt.Errorf("kustomize build %s: %w", dir, err)
			return b
		}
		b.objects = append(b.objects, objs...)
	}
	return b
}

func isComponent(kustomization []byte) bool {
	var k struct {
		Kind string `yaml:"kind"`
	}
	return yaml.Unmarshal(kustomization, &k) == nil && k.Kind == types.ComponentKind
}

// recordingFS is the disk as krusty sees it, with two changes: it records every file
// read (so a base is known to be one, and its files are not linted again), and the
// root kustomization gets buildMetadata originAnnotations.
type recordingFS struct {
	filesys.FileSystem
	inject string

	mu        sync.Mutex
	read      map[string]bool
	hadOrigin bool // the kustomization asked for origin annotations itself
}

func (f *recordingFS) record(path string) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return
	}
	f.mu.Lock()
	f.read[abs] = true
	f.mu.Unlock()
}

func (f *recordingFS) snapshot() map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]bool, len(f.read))
	for k := range f.read {
		out[k] = true
	}
	return out
}

// ReadFile reads path, recording it; the root kustomization is given buildMetadata
// originAnnotations.
func (f *recordingFS) ReadFile(path string) ([]byte, error) {
	data, err := f.FileSystem.ReadFile(path)
	if err != nil {
		return data, err
	}
	f.record(path)
	if filepath.Clean(path) != f.inject {
		return data, nil
	}
	out, had := withOriginAnnotations(data)
	f.mu.Lock()
	f.hadOrigin = had
	f.mu.Unlock()
	return out, nil
}

// Open opens path, recording it.
func (f *recordingFS) Open(path string) (filesys.File, error) {
	file, err := f.FileSystem.Open(path)
	if err == nil {
		f.record(path)
	}
	return file, err
}

// withOriginAnnotations adds originAnnotations to a kustomization's buildMetadata; had
// says whether it was there already. A kustomization that is not a YAML mapping is
// returned as it is, for krusty to explain what is wrong with it.
func withOriginAnnotations(data []byte) (out []byte, had bool) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return data, false
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return data, false
	}
	m := doc.Content[0]
	var list *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "buildMetadata" {
			list = m.Content[i+1]
		}
	}
	switch {
	case list == nil:
		list = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "buildMetadata"}, list)
	case list.Kind != yaml.SequenceNode:
		return data, false
	}
	for _, item := range list.Content {
		if item.Value == types.OriginAnnotations {
			return data, true
		}
	}
	list.Content = append(list.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: types.OriginAnnotations})
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return data, false
	}
	return out, false
}

// tracer places the rendered objects of one build.
type tracer struct {
	dir        string // the kustomization directory as shown
	root       string // the same, absolute
	kustFile   string
	keepOrigin bool
	sources    map[string]*manifest.Set // parsed source files by absolute path
	builder    manifest.Builder         // makes the rendered objects' values
}

// place decodes a rendered resource the way ward reads files and places it.
func (t *tracer) place(r *resource.Resource) ([]*manifest.Object, error) {
	origin, err := r.GetOrigin()
	if err != nil {
		return nil, fmt.Errorf("read the origin of %s: %w", r.CurId(), err)
	}
	data, err := r.AsYAML()
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", r.CurId(), err)
	}
	rendered := manifest.ParseWith(t.kustFile, data, t.builder)
	if len(rendered.Errors) > 0 {
		return nil, fmt.Errorf("decode %s: %w", r.CurId(), rendered.Errors[0])
	}
	out := make([]*manifest.Object, 0, len(rendered.Objects))
	for _, o := range rendered.Objects {
		if !t.keepOrigin {
			v, err := withoutOrigin(o.Builder(), o.Decoded())
			if err != nil {
				return nil, fmt.Errorf("decode %s: %w", r.CurId(), err)
			}
			o = o.WithDecoded(v)
		}
		out = append(out, t.locate(origin, o))
	}
	return out, nil
}

// locate finds the source object the rendered object r came from, and returns r
// placed there.
func (t *tracer) locate(origin *resource.Origin, r *manifest.Object) *manifest.Object {
	switch {
	case origin == nil || origin.Repo != "":
		return r.At(t.kustFile, 1, 1)
	case origin.ConfiguredIn != "":
		// Generated (a configMapGenerator): the kustomization that configured it.
		return r.At(filepath.Join(t.dir, filepath.FromSlash(origin.ConfiguredIn)), 1, 1)
	case origin.Path == "":
		return r.At(t.kustFile, 1, 1)
	}
	abs := filepath.Join(t.root, filepath.FromSlash(origin.Path))
	src, ok := t.sources[abs]
	if !ok {
		data, err := os.ReadFile(abs) //nolint:gosec // G304: a file the user's kustomization names, read by krusty already
		if err == nil {
			src = manifest.Parse(filepath.Join(t.dir, filepath.FromSlash(origin.Path)), data)
		}
		t.sources[abs] = src
	}
	if src == nil {
		return r.At(t.kustFile, 1, 1)
	}
	if o := match(src.Objects, r); o != nil {
		return o.WithValueOf(r)
	}
	// The file is known but not the object in it: its first line.
	return r.At(filepath.Join(t.dir, filepath.FromSlash(origin.Path)), 1, 1)
}

// match picks the source object a rendered one came from: same kind, and the name
// equal, or contained in the rendered name (namePrefix, nameSuffix, a hash), the
// longest such name winning; a namespace that agrees breaks ties. With one object of
// the kind in the file, that one.
func match(candidates []*manifest.Object, rendered *manifest.Object) *manifest.Object {
	kind, name, ns := rendered.Kind(), rendered.Name(), rendered.Namespace()
	var best *manifest.Object
	bestScore := -1
	sameKind := 0
	var only *manifest.Object
	for _, c := range candidates {
		if c.Kind() != kind {
			continue
		}
		sameKind++
		only = c
		score := -1
		switch cn := c.Name(); {
		case cn == name:
			score = 1 << 20
		case cn != "" && strings.Contains(name, cn):
			score = len(cn) << 1
		}
		if score < 0 {
			continue
		}
		if c.Namespace() == ns {
			score++
		}
		if score > bestScore {
			best, bestScore = c, score
		}
	}
	if best == nil && sameKind == 1 {
		return only
	}
	return best
}

// withoutOrigin returns value, made by b, without the origin annotation (and without
// metadata.annotations when that was the only one), copying only what changes.
func withoutOrigin(b manifest.Builder, value any) (any, error) {
	md, _ := b.Get(value, "metadata")
	ann, _ := b.Get(md, "annotations")
	if b.Type(ann) != manifest.TypeMapping {
		return value, nil
	}
	if _, ok := b.Get(ann, OriginAnnotation); !ok {
		return value, nil
	}
	newAnn, err := b.Without(ann, OriginAnnotation)
	if err != nil {
		return nil, err
	}
	var newMD any
	if len(b.Keys(newAnn)) == 0 {
		newMD, err = b.Without(md, "annotations")
	} else {
		newMD, err = b.With(md, "annotations", newAnn)
	}
	if err != nil {
		return nil, err
	}
	return b.With(value, "metadata", newMD)
}
