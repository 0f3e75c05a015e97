package manifest

import (
	"slices"
	"strings"
)

// armTemplateSchema is the part of $schema that names an ARM deployment template.
const armTemplateSchema = "deploymenttemplate.json"

// ManagedClusters is the ARM resource type of an AKS cluster, the one ARM type the rule
// library reads. ARM resource types compare case-insensitively; the object ward makes of
// such a resource has this spelling as its kind (and the template's in its type field),
// so that rules can match it with one literal.
const ManagedClusters = "Microsoft.ContainerService/managedClusters"

// armResources calls fn for every AKS cluster resource of an ARM template found in v:
// the template itself, templates nested in deployments (properties.template) and in
// blueprint artifacts, child resources, and symbolic-name (languageVersion 2.0)
// resource maps. path is the object path from the document root to the resource.
func armResources(b Builder, v any, path []any, fn func(path []any, r any)) error {
	if b.Type(v) != TypeMapping {
		return nil
	}
	if schema := text(b, v, "$schema"); strings.Contains(strings.ToLower(schema), armTemplateSchema) {
		rs, _ := b.Get(v, "resources")
		return eachResource(b, rs, append(clone(path), "resources"), fn)
	}
	// A template can be wrapped (a blueprint artifact, a parameters-less deployment
	// object); look one level into properties.template.
	if props, ok := b.Get(v, "properties"); ok && b.Type(props) == TypeMapping {
		t, _ := b.Get(props, "template")
		return armResources(b, t, append(clone(path), "properties", "template"), fn)
	}
	return nil
}

func eachResource(b Builder, v any, path []any, fn func(path []any, r any)) error {
	visit := func(p []any, r any) error {
		if b.Type(r) != TypeMapping {
			return nil
		}
		if strings.EqualFold(text(b, r, "type"), ManagedClusters) {
			obj, err := b.With(r, "kind", b.String(ManagedClusters))
			if err != nil {
				return err
			}
			fn(p, obj)
		}
		rs, _ := b.Get(r, "resources")
		if err := eachResource(b, rs, append(clone(p), "resources"), fn); err != nil {
			return err
		}
		if props, ok := b.Get(r, "properties"); ok && b.Type(props) == TypeMapping {
			t, _ := b.Get(props, "template")
			return armResources(b, t, append(clone(p), "properties", "template"), fn)
		}
		return nil
	}
	switch b.Type(v) {
	case TypeSequence:
		for i := range b.Len(v) {
			if err := visit(append(clone(path), i), b.Index(v, i)); err != nil {
				return err
			}
		}
	case TypeMapping:
		keys := b.Keys(v)
		slices.Sort(keys)
		for _, k := range keys {
			r, _ := b.Get(v, k)
			if err := visit(append(clone(path), k), r); err != nil {
				return err
			}
		}
	}
	return nil
}

func clone(p []any) []any { return append([]any(nil), p...) }
