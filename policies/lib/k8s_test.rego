package ward.lib.k8s_test

import data.ward.lib.k8s

test_api_group if {
	k8s.api_group("v1") == ""
	k8s.api_group("apps/v1") == "apps"
	k8s.api_group("networking.k8s.io/v1") == "networking.k8s.io"
	not k8s.api_group(null)
}

test_pod_bearing_kinds if {
	every av_kind in [
		["v1", "Pod"], ["v1", "ReplicationController"], ["v1", "PodTemplate"],
		["apps/v1", "Deployment"], ["apps/v1beta1", "StatefulSet"], ["apps/v1beta2", "DaemonSet"],
		["extensions/v1beta1", "ReplicaSet"], ["extensions/v1beta1", "Deployment"],
		["batch/v1", "Job"], ["batch/v1", "CronJob"], ["batch/v1beta1", "CronJob"],
	] {
		k8s.is_pod_bearing_kind(av_kind[0], av_kind[1])
	}
	every av_kind in [
		["v1", "Service"], ["example.com/v1", "Deployment"], ["apps/v1", "Pod"],
		["apps.openshift.io/v1", "DeploymentConfig"], ["batch/v1", "Deployment"], ["policy/v1beta1", "PodSecurityPolicy"],
	] {
		not k8s.is_pod_bearing_kind(av_kind[0], av_kind[1])
	}
}

test_containers_of_a_cronjob if {
	obj := {"apiVersion": "batch/v1", "kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
		"initContainers": [{"name": "i"}],
		"containers": [{"name": "a"}, {"image": "x"}],
		"ephemeralContainers": "not a list",
	}}}}}}
	base := ["spec", "jobTemplate", "spec", "template", "spec"]
	{[c.type, c.name, c.path] | some c in k8s.containers(obj)} == {
		["init container", "i", array.concat(base, ["initContainers", 0])],
		["container", "a", array.concat(base, ["containers", 0])],
		["container", "#1", array.concat(base, ["containers", 1])],
	}
}

test_containers_of_other_kinds if {
	count(k8s.containers({"apiVersion": "v1", "kind": "Service", "spec": {"containers": [{"name": "a"}]}})) == 0
	count(k8s.containers({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": null}})) == 0
	count(k8s.containers(null)) == 0
}

test_capability if {
	k8s.capability("cap_net_raw") == "NET_RAW"
	k8s.capability("All") == "ALL"
	k8s.capability("NET_RAW") == "NET_RAW"
	not k8s.capability(1)
}

test_capabilities if {
	c := {"securityContext": {"capabilities": {"drop": ["Cap_Net_Raw", 3, "chown"], "add": null}}}
	k8s.capabilities(c, "drop") == {"NET_RAW", "CHOWN"}
	k8s.capabilities(c, "add") == set()
	k8s.capabilities({}, "drop") == set()
}

test_selector_empty if {
	every sel in [null, {}, {"matchLabels": {}}, {"matchLabels": null}, {"matchExpressions": []}, {"matchLabels": {}, "matchExpressions": []}] {
		k8s.selector_empty(sel)
	}
	every sel in [{"matchLabels": {"a": "b"}}, {"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"matchLabels": {}, "matchExpressions": [{"key": "a", "operator": "Exists"}]}, "x"] {
		not k8s.selector_empty(sel)
	}
}

test_windows_pod if {
	k8s.is_windows_pod({"os": {"name": "windows"}})
	not k8s.is_windows_pod({"os": {"name": "linux"}})
	not k8s.is_windows_pod({})
	not k8s.is_windows_pod({"os": {"name": 1}})
}

test_review_namespace if {
	k8s.review_namespace({"namespace": "shop", "object": {"metadata": {"namespace": "other"}}}) == "shop"
	k8s.review_namespace({"object": {"metadata": {"namespace": "other"}}}) == "other"
	k8s.review_namespace({"oldObject": {"metadata": {"namespace": "old"}}}) == "old"
	k8s.review_namespace({"namespace": "", "object": {"metadata": {"name": "n"}}}) == ""
	not k8s.review_namespace({"object": {"metadata": {}}})
}

test_operation if {
	k8s.operation({"operation": "DELETE"}) == "DELETE"
	k8s.operation({}) == "CREATE"
}

test_reviewed if {
	k8s.reviewed({"object": {"a": 1}, "oldObject": {"a": 2}}) == {"a": 1}
	k8s.reviewed({"object": null, "oldObject": {"a": 2}}) == {"a": 2}
}

test_pod_bearing if {
	shop := {
		"apps/v1": {"Deployment": {"web": {}}, "ControllerRevision": {"r": {}}},
		"v1": {"Pod": {"a": {}, "b": {}}, "Service": {"s": {}}},
		"example.com/v1": {"Deployment": {"crd": {}}},
	}
	k8s.pod_bearing(shop) == {
		{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
		{"apiVersion": "v1", "kind": "Pod", "name": "a"},
		{"apiVersion": "v1", "kind": "Pod", "name": "b"},
	}
	count(k8s.pod_bearing({})) == 0
}
