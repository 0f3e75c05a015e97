package manifest

import (
	"fmt"
	"maps"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// isListDocument reports whether kubectl reads m as a list. kubectl decodes every
// document with apimachinery's UnstructuredJSONScheme, which takes any object with an
// "items" field (and a kind) for a list, whatever its kind: it applies the items and never
// the wrapper. A "kind: Pod" with an "items" array is a list of the items to kubectl, so
// ward must lint the items, not the Pod, or a bad object could hide in them.
func isListDocument(m map[string]any) bool {
	_, hasItems := m["items"]
	return str(m["kind"]) != "" && hasItems
}

// collectList adds the items of the list m (at object path path from the document
// root) as kubectl flattens them: an item that names neither kind nor apiVersion takes
// the list's apiVersion and its kind less "List" (a PodList's items are Pods); an item
// that is itself a list is flattened in turn; an item that is not an object, or an
// "items" that is not a sequence, is an error (kubectl rejects the list); "items: null"
// is an empty list.
func collectList(name string, src *source, root *yaml.Node, m map[string]any, path []any, res *fileResult) {
	itemsPath := append(clone(path), "items")
	var items []any
	switch v := m["items"].(type) {
	case nil:
		res.ignored++
		return
	case []any:
		items = v
	default:
		line, _ := position(src, root, itemsPath)
		res.errs = append(res.errs, &Error{File: name, Line: line, Err: fmt.Errorf("%s: items is %s, not a sequence (kubectl rejects the list)", describeList(m), typeName(v))})
		return
	}
	kind := strings.TrimSuffix(str(m["kind"]), "List")
	for i, it := range items {
		p := append(clone(itemsPath), i)
		im, ok := it.(map[string]any)
		if !ok {
			line, _ := position(src, root, p)
			res.errs = append(res.errs, &Error{File: name, Line: line, Err: fmt.Errorf("%s: item %d is %s, not an object (kubectl rejects the list)", describeList(m), i, typeName(it))})
			continue
		}
		if str(im["kind"]) == "" && str(im["apiVersion"]) == "" {
			im = maps.Clone(im)
			im["kind"] = kind
			im["apiVersion"] = str(m["apiVersion"])
		}
		switch {
		case isListDocument(im):
			collectList(name, src, root, im, p, res)
		case isObject(im):
			line, col := position(src, root, p)
			res.objects = append(res.objects, &Object{File: name, Line: line, Column: col, Value: im, src: src, root: p})
		default:
			res.ignored++
		}
	}
}

// describeList names a list in messages: its kind, and its name when it has one.
func describeList(m map[string]any) string {
	if name := str(metadata(m)["name"]); name != "" {
		return fmt.Sprintf("%s %q", str(m["kind"]), name)
	}
	return str(m["kind"])
}

// typeName names the type of a decoded value in messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "a mapping"
	case []any:
		return "a sequence"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return "a number"
}
