package engine

import "strings"

// GroupVersionKind names an object's type as an AdmissionRequest does.
type GroupVersionKind struct {
	Group   string `json:"group"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
}

// Review is input.review: what is being admitted (or, offline, linted).
type Review struct {
	Object map[string]any
	// Value is Object converted by NewValue, when the caller has it already (ward lint
	// converts every object once, for the inventory and the review alike). With Value
	// set, Object is not read and may be nil.
	Value     *Value
	OldObject map[string]any
	// Operation is CREATE, UPDATE or DELETE; offline always CREATE.
	Operation string
	Kind      GroupVersionKind
	// Namespace is resolved: metadata.namespace, the default namespace for objects that
	// name none, "" for cluster-scoped objects.
	Namespace string
	Name      string
	UserInfo  map[string]any
}

// Operations of a review.
const (
	OperationCreate = "CREATE"
	OperationUpdate = "UPDATE"
	OperationDelete = "DELETE"
)

// ignoreAnnotations returns the ignore.ward.dev/<rule> annotations of the object the
// review is about: the new object, or the old one on DELETE.
func (r *Review) ignoreAnnotations() map[string]string {
	switch {
	case r.Value != nil:
		return r.Value.ignore
	case r.Object != nil:
		return annotationsOf(r.Object)
	}
	return annotationsOf(r.OldObject)
}

// objectKind returns the kind of the reviewed object, "" when there is none.
func (r *Review) objectKind() string {
	if r.Value != nil {
		return r.Value.kind
	}
	return kindOf(r.Object)
}

// ParseAPIVersion splits an apiVersion into group and version ("v1" is the core group).
func ParseAPIVersion(apiVersion string) (group, version string) {
	if g, v, ok := strings.Cut(apiVersion, "/"); ok {
		return g, v
	}
	return "", apiVersion
}

// clusterScoped are the built-in (and common add-on) kinds that live outside any
// namespace. Offline there is no discovery to ask, so this list decides where an object
// that names no namespace belongs.
var clusterScoped = map[string]bool{
	"Namespace": true, "Node": true, "PersistentVolume": true, "ClusterRole": true,
	"ClusterRoleBinding": true, "CustomResourceDefinition": true, "StorageClass": true,
	"PriorityClass": true, "ValidatingWebhookConfiguration": true,
	"MutatingWebhookConfiguration": true, "ValidatingAdmissionPolicy": true,
	"ValidatingAdmissionPolicyBinding": true, "MutatingAdmissionPolicy": true,
	"MutatingAdmissionPolicyBinding": true, "APIService": true, "CSIDriver": true,
	"CSINode": true, "RuntimeClass": true, "IngressClass": true, "PodSecurityPolicy": true,
	"VolumeAttachment": true, "CertificateSigningRequest": true, "FlowSchema": true,
	"PriorityLevelConfiguration": true, "ComponentStatus": true, "ClusterIssuer": true,
	"ClusterTrustBundle": true, "DeviceClass": true, "IPAddress": true, "ServiceCIDR": true,
	"VolumeAttributesClass": true, "ClusterPolicy": true, "GatewayClass": true,
}

// IsClusterScoped reports whether objects of kind live outside namespaces.
func IsClusterScoped(kind string) bool { return clusterScoped[kind] }

// NewReview is the offline review of one object: operation CREATE, namespace resolved
// with defaultNamespace for objects that name none. ARM resources (arm true) have no
// namespace.
func NewReview(obj map[string]any, defaultNamespace string, arm bool) Review {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	ns := ""
	switch {
	case arm:
		name, _ = obj["name"].(string)
	case !IsClusterScoped(kind):
		ns, _ = meta["namespace"].(string)
		if ns == "" {
			ns = defaultNamespace
		}
	}
	r := ReviewOf(apiVersion, kind, ns, name, arm)
	r.Object = obj
	return r
}

// ReviewOf is the offline review of an object known by its identity, without the
// object (set Value or Object): namespace is resolved already, as NewReview resolves
// it. ward lint keeps the identity, not the review, of objects it evaluates later.
func ReviewOf(apiVersion, kind, namespace, name string, arm bool) Review {
	group, version := ParseAPIVersion(apiVersion)
	if arm {
		group, version = "", apiVersion
	}
	return Review{
		Operation: OperationCreate,
		Kind:      GroupVersionKind{Group: group, Version: version, Kind: kind},
		Namespace: namespace,
		Name:      name,
	}
}
