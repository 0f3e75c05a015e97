# Kubernetes object helpers.
#
# Shared helpers for every rule: API groups from apiVersion, the pod spec of every
# pod-bearing kind, every container of a pod spec with its object path, label selector
# emptiness, the namespace of a review, and the pod-bearing objects of a namespace.
package ward.lib.k8s

# _pod_spec_paths maps API group -> kind -> the object path of the pod spec. Kinds are
# recognised by kind AND group, so that a CRD that happens to be called "Deployment" in
# another group is never misread, while old apiVersions (extensions/v1beta1,
# apps/v1beta1, apps/v1beta2, batch/v1beta1, ...) are still checked.
_workload_template := ["spec", "template", "spec"]

_pod_spec_paths := {
	"": {
		"Pod": ["spec"],
		"ReplicationController": _workload_template,
		"PodTemplate": ["template", "spec"],
	},
	"apps": {
		"Deployment": _workload_template,
		"ReplicaSet": _workload_template,
		"DaemonSet": _workload_template,
		"StatefulSet": _workload_template,
	},
	"extensions": {
		"Deployment": _workload_template,
		"ReplicaSet": _workload_template,
		"DaemonSet": _workload_template,
		"StatefulSet": _workload_template,
	},
	"batch": {
		"Job": _workload_template,
		"CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
	},
}

# _container_fields lists the container lists of a pod spec and how a message names
# one of their members.
_container_fields := [
	["containers", "container"],
	["initContainers", "init container"],
	["ephemeralContainers", "ephemeral container"],
]

# api_group returns the API group of an apiVersion string: "" for the core group
# ("v1"), "apps" for "apps/v1". Undefined when api_version is not a string.
api_group(api_version) := "" if {
	is_string(api_version)
	not contains(api_version, "/")
}

api_group(api_version) := group if {
	is_string(api_version)
	contains(api_version, "/")
	group := substring(api_version, 0, indexof(api_version, "/"))
}

# group_kind returns [group, kind] of an object, from its apiVersion and kind.
group_kind(obj) := [api_group(obj.apiVersion), obj.kind] if is_string(obj.kind)

# pod_spec_path returns the object path of the pod spec for a pod-bearing kind given as
# (apiVersion, kind); undefined for any other kind.
pod_spec_path(api_version, kind) := _pod_spec_paths[api_group(api_version)][kind]

# is_pod_bearing_kind holds when (apiVersion, kind) names a pod-bearing kind: Pod,
# ReplicationController, PodTemplate (core), Deployment, ReplicaSet, DaemonSet,
# StatefulSet (apps, extensions), Job, CronJob (batch).
is_pod_bearing_kind(api_version, kind) if pod_spec_path(api_version, kind)

# is_pod_bearing holds when obj is an object of a pod-bearing kind.
is_pod_bearing(obj) if is_pod_bearing_kind(obj.apiVersion, obj.kind)

# pod_spec returns {"spec": <pod spec>, "path": <its object path>} for a pod-bearing
# object whose pod spec is an object; undefined otherwise.
pod_spec(obj) := {"spec": spec, "path": path} if {
	path := pod_spec_path(obj.apiVersion, obj.kind)
	spec := object.get(obj, path, null)
	is_object(spec)
}

# containers returns the set of every container (containers, initContainers,
# ephemeralContainers) of a pod-bearing object, each as
#   {"container": <the container>, "path": <object path of the container>,
#    "type": "container" | "init container" | "ephemeral container",
#    "name": <its name, or "#<index>" when it has none>, "pod_spec": <the pod spec>}.
containers(obj) := {c |
	ps := pod_spec(obj)
	some field in _container_fields
	list := object.get(ps.spec, field[0], [])
	is_array(list)
	some i, container in list
	is_object(container)
	c := {
		"container": container,
		"path": array.concat(ps.path, [field[0], i]),
		"type": field[1],
		"name": _container_name(container, i),
		"pod_spec": ps.spec,
	}
}

_container_name(container, _) := container.name if is_string(container.name)

_container_name(container, i) := sprintf("#%d", [i]) if not is_string(object.get(container, "name", null))

# is_windows_pod holds when a pod spec declares spec.os.name: windows. The API server
# forbids Linux-only fields (capabilities among them) in such a pod.
is_windows_pod(spec) if {
	is_string(spec.os.name)
	lower(spec.os.name) == "windows"
}

# selector_empty holds when a label selector selects everything: null or absent, or an
# object whose matchLabels is absent, null or {} AND whose matchExpressions is absent,
# null or []. A selector that is not an object (a string, a number) is not empty.
selector_empty(sel) if sel == null

selector_empty(sel) if {
	is_object(sel)
	_empty_or_null(object.get(sel, "matchLabels", null))
	_empty_or_null(object.get(sel, "matchExpressions", null))
}

_empty_or_null(x) if x == null

_empty_or_null(x) if {
	is_object(x)
	count(x) == 0
}

_empty_or_null(x) if {
	is_array(x)
	count(x) == 0
}

# review_namespace returns the namespace of a review: input.review.namespace as Go
# resolved it (the object's namespace, or the --namespace default when it names none;
# "" for cluster-scoped objects), or, when the review carries no namespace at all, the
# metadata.namespace of the object (of the old object on DELETE).
review_namespace(review) := review.namespace if is_string(review.namespace)

review_namespace(review) := ns if {
	not is_string(object.get(review, "namespace", null))
	ns := _reviewed(review).metadata.namespace
	is_string(ns)
}

# reviewed returns the object a review is about: object, or oldObject on DELETE.
reviewed(review) := _reviewed(review)

_reviewed(review) := review.object if is_object(review.object)

_reviewed(review) := review.oldObject if not is_object(object.get(review, "object", null))

# operation returns the review's operation, "CREATE" when none is given (offline).
operation(review) := review.operation if is_string(review.operation)

operation(review) := "CREATE" if not is_string(object.get(review, "operation", null))

# pod_bearing returns the entries among the inventory objects of one namespace
# (ns_objects is data.inventory.namespace[ns]: apiVersion -> kind -> name -> object)
# whose (apiVersion, kind) is pod-bearing, as {"apiVersion", "kind", "name"}. Only their
# existence is relied on: in the cluster they may be metadata-only objects.
pod_bearing(ns_objects) := {o |
	some api_version, kinds in ns_objects
	some kind, names in kinds
	is_pod_bearing_kind(api_version, kind)
	some name, _ in names
	o := {"apiVersion": api_version, "kind": kind, "name": name}
}

# capability returns the canonical name of a Linux capability as written in a
# securityContext: upper case, without the optional "CAP_" prefix ("cap_net_raw" ->
# "NET_RAW", "all" -> "ALL").
capability(name) := trim_prefix(upper(name), "CAP_") if is_string(name)

# capabilities returns the canonical names in securityContext.capabilities[field]
# ("add" or "drop") of a container; empty when that list is absent, null or not a list.
capabilities(container, field) := {capability(name) |
	list := object.get(container, ["securityContext", "capabilities", field], [])
	is_array(list)
	some name in list
	is_string(name)
}
