# METADATA
# title: Containers drop NET_RAW
# description: |
#   Every container, init container and ephemeral container of every pod-bearing object
#   must drop NET_RAW and must not get it back.
#
#   Kinds checked (recognised by kind and API group, old apiVersions included): Pod
#   (spec), ReplicationController (spec.template.spec) and PodTemplate (template.spec) of
#   the core group; Deployment, ReplicaSet, DaemonSet and StatefulSet of apps or
#   extensions (spec.template.spec); Job (spec.template.spec) and CronJob
#   (spec.jobTemplate.spec.template.spec) of batch. A kind of the same name in another
#   group (a CRD, an OpenShift DeploymentConfig) is not checked.
#
#   A container passes when securityContext.capabilities.drop holds NET_RAW or ALL
#   (compared case-insensitively, with or without the CAP_ prefix: "net_raw",
#   "CAP_NET_RAW" and "All" all count), capabilities.add holds neither NET_RAW nor ALL,
#   and securityContext.privileged is not true. Write the names without the prefix all
#   the same: CRI-O accepts it, but containerd's CRI puts "CAP_" before every name it is
#   given, so "CAP_NET_RAW" becomes "CAP_CAP_NET_RAW" there and drops nothing.
#
#   Each problem of a container is its own finding:
#   - no securityContext, no capabilities, no drop list, "drop: null", or a drop list
#     without NET_RAW or ALL: path securityContext.capabilities.drop;
#   - each entry of capabilities.add that is NET_RAW or ALL, even when drop holds ALL
#     (add wins over drop): path capabilities.add[i];
#   - privileged: true, which grants every capability whatever drop says: path
#     securityContext.privileged.
#   A pod-level securityContext has no capabilities field and does not count.
#
#   The parameter requiredDropCapabilities (default [NET_RAW]) works like Gatekeeper's
#   K8sPSPCapabilities: each capability listed must be dropped (or ALL), and none may be
#   added (nor ALL).
#
#   Windows pods (spec.os.name: windows in the pod spec) are not checked: Linux
#   capabilities do not exist there, and the API server rejects a Windows pod that sets
#   securityContext.capabilities, so no drop list can ever be written.
#   Deletions are never checked.
# custom:
#   id: drop-net-raw
#   severity: error
#   remediation: >-
#     Add NET_RAW (or ALL), without a CAP_ prefix, to securityContext.capabilities.drop
#     of every container, and remove NET_RAW, ALL and privileged true where they are set.
#   why: |
#     NET_RAW is in the default capability set of container runtimes. It lets a process
#     open raw and packet sockets: forge any IP packet, answer ARP and DNS for its
#     neighbours, and sniff the traffic of the node's bridge. On clusters whose pods share
#     a Linux bridge (kubenet, many CNI plugins in bridge mode) a compromised container
#     can spoof and intercept the traffic of other pods on the same node (see
#     CVE-2020-10749 and CVE-2020-14386, both reachable through NET_RAW). Almost no
#     application needs it: ping works without it wherever the runtime sets
#     net.ipv4.ping_group_range, as containerd and Docker do by default.
#
#     The rule follows the mitigation Kubernetes advisories recommend: Gatekeeper's
#     K8sPSPCapabilities with requiredDropCapabilities ["NET_RAW"], the Pod Security
#     Standards' restricted profile (drop ALL), and the same checks of kube-linter,
#     Kyverno (require-drop-cap-net-raw) and Polaris.
#   exemption: |
#     Put the annotation ignore.ward.dev/drop-net-raw: "<reason>" on the object that is
#     linted or admitted: the Deployment, StatefulSet, DaemonSet, Job or CronJob itself
#     (metadata.annotations, not the pod template's annotations), or the Pod when it is
#     created on its own. The pods a controller creates from an exempted workload are
#     admitted as Pods of their own: in the cluster, annotate the pod template too
#     (spec.template.metadata.annotations) so that its Pods carry the annotation, or
#     exclude the namespace with excludedNamespaces.
#   parameters:
#     requiredDropCapabilities: [NET_RAW]
#   enforcement: deny
package ward.rules.drop_net_raw

import data.ward.lib.k8s

_required := {k8s.capability(name) | some name in _required_param; is_string(name)}

_required_param := p if {
	p := input.parameters.requiredDropCapabilities
	is_array(p)
} else := ["NET_RAW"]

_required_text := concat(", ", sort(_required))

_obj := input.review.object

_spec_path := k8s.pod_spec_path(_obj.apiVersion, _obj.kind)

_spec := s if {
	k8s.operation(input.review) != "DELETE"
	s := object.get(_obj, _spec_path, null)
	is_object(s)
	not k8s.is_windows_pod(s)
}

_fields := {"containers": "container", "initContainers": "init container", "ephemeralContainers": "ephemeral container"}

# _checked yields [field, index, container] for every container of the pod spec.
_checked contains [field, i, c] if {
	some field, _ in _fields
	list := _spec[field]
	is_array(list)
	some i, c in list
	is_object(c)
}

_name(c, _) := c.name if is_string(c.name)

_name(c, i) := sprintf("#%d", [i]) if not is_string(object.get(c, "name", null))

_caps(c, field) := {k8s.capability(x) | some x in c.securityContext.capabilities[field]}

_path(field, i, rest) := array.concat(array.concat(_spec_path, [field, i]), rest)

violation contains {"msg": msg, "details": {"path": path}} if {
	input.review.object.kind in {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob", "PodTemplate"}
	some [field, i, c] in _checked
	drop := _caps(c, "drop")
	not "ALL" in drop
	missing := _required - drop
	count(missing) > 0
	msg := sprintf("%s %q does not drop %s", [_fields[field], _name(c, i), concat(", ", sort(missing))])
	path := _path(field, i, ["securityContext", "capabilities", "drop"])
}

violation contains {"msg": msg, "details": {"path": path}} if {
	input.review.object.kind in {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob", "PodTemplate"}
	some [field, i, c] in _checked
	some k, name in c.securityContext.capabilities.add
	cap := k8s.capability(name)
	cap != "ALL"
	cap in _required
	msg := sprintf("%s %q adds %s back in securityContext.capabilities.add", [_fields[field], _name(c, i), cap])
	path := _path(field, i, ["securityContext", "capabilities", "add", k])
}

violation contains {"msg": msg, "details": {"path": path}} if {
	input.review.object.kind in {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob", "PodTemplate"}
	count(_required) > 0
	some [field, i, c] in _checked
	some k, name in c.securityContext.capabilities.add
	k8s.capability(name) == "ALL"
	msg := sprintf(
		"%s %q adds ALL capabilities back (%s among them) in securityContext.capabilities.add",
		[_fields[field], _name(c, i), _required_text],
	)
	path := _path(field, i, ["securityContext", "capabilities", "add", k])
}

violation contains {"msg": msg, "details": {"path": path}} if {
	input.review.object.kind in {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob", "PodTemplate"}
	count(_required) > 0
	some [field, i, c] in _checked
	c.securityContext.privileged == true
	msg := sprintf(
		"%s %q is privileged, which grants every capability (%s among them) whatever it drops",
		[_fields[field], _name(c, i), _required_text],
	)
	path := _path(field, i, ["securityContext", "privileged"])
}
