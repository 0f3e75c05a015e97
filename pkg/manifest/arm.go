package manifest

import (
	"maps"
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
func armResources(v any, path []any, fn func(path []any, r map[string]any)) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	if schema, _ := m["$schema"].(string); strings.Contains(strings.ToLower(schema), armTemplateSchema) {
		eachResource(m["resources"], append(clone(path), "resources"), fn)
		return
	}
	// A template can be wrapped (a blueprint artifact, a parameters-less deployment
	// object); look one level into properties.template.
	if props, ok := m["properties"].(map[string]any); ok {
		armResources(props["template"], append(clone(path), "properties", "template"), fn)
	}
}

func eachResource(v any, path []any, fn func(path []any, r map[string]any)) {
	visit := func(p []any, r any) {
		rm, ok := r.(map[string]any)
		if !ok {
			return
		}
		typ, _ := rm["type"].(string)
		if strings.EqualFold(typ, ManagedClusters) {
			obj := make(map[string]any, len(rm)+1)
			maps.Copy(obj, rm)
			obj["kind"] = ManagedClusters
			fn(p, obj)
		}
		eachResource(rm["resources"], append(clone(p), "resources"), fn)
		if props, ok := rm["properties"].(map[string]any); ok {
			armResources(props["template"], append(clone(p), "properties", "template"), fn)
		}
	}
	switch rs := v.(type) {
	case []any:
		for i, r := range rs {
			visit(append(clone(path), i), r)
		}
	case map[string]any:
		for _, k := range sortedKeys(rs) {
			visit(append(clone(path), k), rs[k])
		}
	}
}

func clone(p []any) []any { return append([]any(nil), p...) }
