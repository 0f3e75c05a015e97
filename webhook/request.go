package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/wardsec/ward/pkg/engine"
)

// objects are a request's object and oldObject decoded into the very JSON values ward
// lint builds from a file (nil when absent or null), or the error decoding them.
type objects struct {
	object, oldObject map[string]any
	err               error
}

// decodeObjects decodes the raw object and oldObject of req.
func decodeObjects(req *admission.Request) objects {
	obj, err := decodeObject(req.Object.Raw)
	if err != nil {
		return objects{err: fmt.Errorf("object: %w", err)}
	}
	old, err := decodeObject(req.OldObject.Raw)
	if err != nil {
		return objects{err: fmt.Errorf("oldObject: %w", err)}
	}
	return objects{object: obj, oldObject: old}
}

// reviewOf turns an AdmissionRequest and its decoded objects into the engine's Review.
func reviewOf(req *admission.Request, objs objects) (engine.Review, error) {
	if req.UID == "" || req.Kind.Kind == "" || req.Operation == "" {
		return engine.Review{}, fmt.Errorf("%w: uid, kind and operation are required", ErrNoRequest)
	}
	if objs.err != nil {
		return engine.Review{}, objs.err
	}
	obj, old := objs.object, objs.oldObject
	switch req.Operation {
	case admissionv1.Create, admissionv1.Update:
		if obj == nil {
			return engine.Review{}, fmt.Errorf("%w: %s needs object", ErrNoObject, req.Operation)
		}
	case admissionv1.Delete:
		if old == nil {
			return engine.Review{}, fmt.Errorf("%w: DELETE needs oldObject", ErrNoObject)
		}
	}
	r := engine.Review{
		Object:    obj,
		OldObject: old,
		Operation: string(req.Operation),
		Kind:      engine.GroupVersionKind{Group: req.Kind.Group, Version: req.Kind.Version, Kind: req.Kind.Kind},
		Namespace: req.Namespace,
		Name:      req.Name,
		UserInfo:  userInfo(req),
	}
	if r.Name == "" {
		subject := obj
		if subject == nil {
			subject = old
		}
		meta, _ := subject["metadata"].(map[string]any)
		r.Name, _ = meta["name"].(string)
	}
	return r, nil
}

// decodeObject decodes one JSON object with json.Number for numbers, as pkg/manifest
// does for files. Empty input or null is no object (nil, nil).
func decodeObject(raw []byte) (map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("decode: %w: data after the object", ErrBadObject)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: got %T", ErrBadObject, v)
	}
	return m, nil
}

// userInfo is the request's userInfo as Rego sees it in an AdmissionReview's JSON.
func userInfo(req *admission.Request) map[string]any {
	u := req.UserInfo
	out := map[string]any{"username": u.Username}
	if u.UID != "" {
		out["uid"] = u.UID
	}
	if len(u.Groups) > 0 {
		groups := make([]any, len(u.Groups))
		for i, g := range u.Groups {
			groups[i] = g
		}
		out["groups"] = groups
	}
	if len(u.Extra) > 0 {
		extra := make(map[string]any, len(u.Extra))
		for k, vs := range u.Extra {
			vals := make([]any, len(vs))
			for i, v := range vs {
				vals[i] = v
			}
			extra[k] = vals
		}
		out["extra"] = extra
	}
	return out
}
