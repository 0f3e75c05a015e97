package manifest

import (
	"fmt"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// isListDocument reports whether kubectl reads the mapping v as a list. kubectl decodes
// every document with apimachinery's UnstructuredJSONScheme, which takes any object with
// an "items" field (and a kind) for a list, whatever its kind: it applies the items and
// never the wrapper. A "kind: Pod" with an "items" array is a list of the items to
// kubectl, so ward must lint the items, not the Pod, or a bad object could hide in them.
func isListDocument(b Builder, v any) bool {
	_, hasItems := b.Get(v, "items")
	return text(b, v, "kind") != "" && hasItems
}

// collectList adds the items of the list m (at object path path from the document
// root) as kubectl flattens them: an item that names neither kind nor apiVersion takes
// the list's apiVersion and its kind less "List" (a PodList's items are Pods); an item
// that is itself a list is flattened in turn; an item that is not an object, or an
// "items" that is not a sequence, is an error (kubectl rejects the list); "items: null"
// is an empty list.
func collectList(name string, src *source, root *yaml.Node, m any, path []any, res *fileResult) {
	b := res.builder
	itemsPath := append(clone(path), "items")
	items, _ := b.Get(m, "items")
	switch t := b.Type(items); t {
	case TypeNull:
		res.ignored++
		return
	case TypeSequence:
	default:
		line, _ := position(src, root, itemsPath)
		res.errs = append(res.errs, &Error{File: name, Line: line, Err: fmt.Errorf("%s: items is %s, not a sequence (kubectl rejects the list)", describeList(b, m), typeName(t))})
		return
	}
	kind := strings.TrimSuffix(text(b, m, "kind"), "List")
	for i := range b.Len(items) {
		it := b.Index(items, i)
		p := append(clone(itemsPath), i)
		if t := b.Type(it); t != TypeMapping {
			line, _ := position(src, root, p)
			res.errs = append(res.errs, &Error{File: name, Line: line, Err: fmt.Errorf("%s: item %d is %s, not an object (kubectl rejects the list)", describeList(b, m), i, typeName(t))})
			continue
		}
		if text(b, it, "kind") == "" && text(b, it, "apiVersion") == "" {
			var err error
			if it, err = b.With(it, "kind", b.String(kind)); err == nil {
				it, err = b.With(it, "apiVersion", b.String(text(b, m, "apiVersion")))
			}
			if err != nil {
				line, _ := position(src, root, p)
				res.errs = append(res.errs, &Error{File: name, Line: line, Err: fmt.Errorf("%s: item %d: %w", describeList(b, m), i, err)})
				continue
			}
		}
		switch {
		case isListDocument(b, it):
			collectList(name, src, root, it, p, res)
		case isObject(b, it):
			line, col := position(src, root, p)
			o := newObject(name, line, col, it, b, src)
			o.root = p
			res.objects = append(res.objects, o)
		default:
			res.ignored++
		}
	}
}

// describeList names a list in messages: its kind, and its name when it has one.
func describeList(b Builder, m any) string {
	if name := text(b, m, "metadata", "name"); name != "" {
		return fmt.Sprintf("%s %q", text(b, m, "kind"), name)
	}
	return text(b, m, "kind")
}

// typeName names the type of a decoded value in messages.
func typeName(t Type) string {
	switch t {
	case TypeNull:
		return "null"
	case TypeMapping:
		return "a mapping"
	case TypeSequence:
		return "a sequence"
	case TypeString:
		return "a string"
	case TypeBool:
		return "a boolean"
	}
	return "a number"
}
