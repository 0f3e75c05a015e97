package ward.rules.drop_net_raw_test

import data.ward.rules.drop_net_raw as rule

_params := {"requiredDropCapabilities": ["NET_RAW"]}

_in(obj) := {"review": {"object": obj, "operation": "CREATE", "namespace": "default"}, "parameters": _params}

_pod_with(spec) := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}

_pod(container) := _pod_with({"containers": [container]})

_sc(caps) := {"name": "web", "image": "nginx", "securityContext": {"capabilities": caps}}

_drop_path := ["spec", "containers", 0, "securityContext", "capabilities", "drop"]

_missing(type, name, path) := {"msg": sprintf("%s %q does not drop NET_RAW", [type, name]), "details": {"path": path}}

_web_missing := _missing("container", "web", _drop_path)

_workload(api_version, kind, pod_spec) := {
	"apiVersion": api_version, "kind": kind, "metadata": {"name": "w"},
	"spec": {"template": {"spec": pod_spec}},
}

_bare := {"containers": [{"name": "web", "image": "nginx"}]}

_tmpl_drop := ["spec", "template", "spec", "containers", 0, "securityContext", "capabilities", "drop"]

# --- passing containers ------------------------------------------------------

test_drop_net_raw_passes if {
	count(rule.violation) == 0 with input as _in(_pod(_sc({"drop": ["NET_RAW"]})))
}

test_drop_all_passes if {
	count(rule.violation) == 0 with input as _in(_pod(_sc({"drop": ["ALL"]})))
}

test_drop_any_case_and_cap_prefix_passes if {
	every d in ["all", "All", "net_raw", "Net_Raw", "CAP_NET_RAW", "cap_net_raw", "Cap_All"] {
		count(rule.violation) == 0 with input as _in(_pod(_sc({"drop": ["CHOWN", d]})))
	}
}

test_drop_all_with_harmless_add_passes if {
	count(rule.violation) == 0 with input as _in(_pod(_sc({"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})))
}

test_privileged_false_passes if {
	c := {"name": "web", "securityContext": {"privileged": false, "capabilities": {"drop": ["ALL"]}}}
	count(rule.violation) == 0 with input as _in(_pod(c))
}

# --- missing drop --------------------------------------------------------------

test_no_security_context if {
	rule.violation == {_web_missing} with input as _in(_pod({"name": "web", "image": "nginx"}))
}

test_no_capabilities if {
	c := {"name": "web", "securityContext": {"runAsNonRoot": true}}
	rule.violation == {_web_missing} with input as _in(_pod(c))
}

test_capabilities_null if {
	c := {"name": "web", "securityContext": {"capabilities": null}}
	rule.violation == {_web_missing} with input as _in(_pod(c))
}

test_drop_null if {
	rule.violation == {_web_missing} with input as _in(_pod(_sc({"drop": null})))
}

test_drop_empty if {
	rule.violation == {_web_missing} with input as _in(_pod(_sc({"drop": []})))
}

test_drop_other_caps if {
	rule.violation == {_web_missing} with input as _in(_pod(_sc({"drop": ["SYS_ADMIN", "NET_ADMIN"]})))
}

test_drop_as_string_is_not_a_list if {
	rule.violation == {_web_missing} with input as _in(_pod(_sc({"drop": "ALL"})))
}

test_pod_level_capabilities_do_not_count if {
	spec := {"securityContext": {"capabilities": {"drop": ["ALL"]}}, "containers": [{"name": "web"}]}
	rule.violation == {_web_missing} with input as _in(_pod_with(spec))
}

test_container_without_name if {
	rule.violation == {_missing("container", "#0", _drop_path)} with input as _in(_pod({"image": "nginx"}))
}

# --- add and privileged --------------------------------------------------------

test_add_net_raw_even_with_drop_all if {
	rule.violation == {{
		"msg": "container \"web\" adds NET_RAW back in securityContext.capabilities.add",
		"details": {"path": ["spec", "containers", 0, "securityContext", "capabilities", "add", 1]},
	}} with input as _in(_pod(_sc({"drop": ["ALL"], "add": ["CHOWN", "cap_net_raw"]})))
}

test_add_all_even_with_drop_all if {
	rule.violation == {{
		"msg": "container \"web\" adds ALL capabilities back (NET_RAW among them) in securityContext.capabilities.add",
		"details": {"path": ["spec", "containers", 0, "securityContext", "capabilities", "add", 0]},
	}} with input as _in(_pod(_sc({"drop": ["ALL"], "add": ["all"]})))
}

test_add_net_raw_without_drop_is_two_problems if {
	rule.violation == {
		_web_missing,
		{
			"msg": "container \"web\" adds NET_RAW back in securityContext.capabilities.add",
			"details": {"path": ["spec", "containers", 0, "securityContext", "capabilities", "add", 0]},
		},
	} with input as _in(_pod(_sc({"add": ["NET_RAW"]})))
}

test_privileged_even_with_drop_all if {
	c := {"name": "web", "securityContext": {"privileged": true, "capabilities": {"drop": ["ALL"]}}}
	rule.violation == {{
		"msg": "container \"web\" is privileged, which grants every capability (NET_RAW among them) whatever it drops",
		"details": {"path": ["spec", "containers", 0, "securityContext", "privileged"]},
	}} with input as _in(_pod(c))
}

test_privileged_without_drop_is_two_problems if {
	c := {"name": "web", "securityContext": {"privileged": true}}
	rule.violation == {
		_web_missing,
		{
			"msg": "container \"web\" is privileged, which grants every capability (NET_RAW among them) whatever it drops",
			"details": {"path": ["spec", "containers", 0, "securityContext", "privileged"]},
		},
	} with input as _in(_pod(c))
}

# --- container kinds -----------------------------------------------------------

test_init_and_ephemeral_containers_are_named if {
	spec := {
		"initContainers": [{"name": "setup"}],
		"containers": [{"name": "web", "securityContext": {"capabilities": {"drop": ["ALL"]}}}],
		"ephemeralContainers": [{"name": "debug"}],
	}
	rule.violation == {
		_missing("init container", "setup", ["spec", "initContainers", 0, "securityContext", "capabilities", "drop"]),
		_missing("ephemeral container", "debug", ["spec", "ephemeralContainers", 0, "securityContext", "capabilities", "drop"]),
	} with input as _in(_pod_with(spec))
}

test_every_container_is_checked if {
	spec := {"containers": [
		{"name": "a", "securityContext": {"capabilities": {"drop": ["NET_RAW"]}}},
		{"name": "b"},
		{"name": "c", "securityContext": {"capabilities": {"drop": ["ALL"]}}},
		{"name": "d"},
	]}
	rule.violation == {
		_missing("container", "b", ["spec", "containers", 1, "securityContext", "capabilities", "drop"]),
		_missing("container", "d", ["spec", "containers", 3, "securityContext", "capabilities", "drop"]),
	} with input as _in(_pod_with(spec))
}

# --- workload kinds ------------------------------------------------------------

test_workload_kinds_and_old_api_versions if {
	every av_kind in [
		["apps/v1", "Deployment"], ["apps/v1beta1", "Deployment"], ["apps/v1beta2", "Deployment"],
		["extensions/v1beta1", "Deployment"], ["apps/v1", "StatefulSet"], ["apps/v1beta1", "StatefulSet"],
		["apps/v1", "DaemonSet"], ["extensions/v1beta1", "DaemonSet"], ["apps/v1", "ReplicaSet"],
		["extensions/v1beta1", "ReplicaSet"], ["v1", "ReplicationController"], ["batch/v1", "Job"],
	] {
		obj := _workload(av_kind[0], av_kind[1], _bare)
		rule.violation == {_missing("container", "web", _tmpl_drop)} with input as _in(obj)
	}
}

test_cronjob if {
	obj := {
		"apiVersion": "batch/v1beta1", "kind": "CronJob", "metadata": {"name": "c"},
		"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": _bare}}}},
	}
	path := ["spec", "jobTemplate", "spec", "template", "spec", "containers", 0, "securityContext", "capabilities", "drop"]
	rule.violation == {_missing("container", "web", path)} with input as _in(obj)
}

test_pod_template if {
	obj := {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"}, "template": {"spec": _bare}}
	path := ["template", "spec", "containers", 0, "securityContext", "capabilities", "drop"]
	rule.violation == {_missing("container", "web", path)} with input as _in(obj)
}

test_same_kind_in_other_group_is_not_checked if {
	every av_kind in [
		["example.com/v1", "Deployment"], ["apps.openshift.io/v1", "DeploymentConfig"],
		["example.com/v1", "Pod"], ["policy/v1beta1", "PodSecurityPolicy"], ["apps/v1", "Job"],
	] {
		obj := _workload(av_kind[0], av_kind[1], _bare)
		count(rule.violation) == 0 with input as _in(obj)
	}
}

test_other_kinds_are_not_checked if {
	svc := {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"containers": [{"name": "x"}]}}
	count(rule.violation) == 0 with input as _in(svc)
}

test_patch_without_containers if {
	obj := _workload("apps/v1", "Deployment", {"priorityClassName": "high"})
	count(rule.violation) == 0 with input as _in(obj)
}

# --- Windows, operations, parameters ----------------------------------------------

test_windows_pod_is_not_checked if {
	spec := {"os": {"name": "windows"}, "containers": [{"name": "web"}]}
	count(rule.violation) == 0 with input as _in(_pod_with(spec))
	count(rule.violation) == 0 with input as _in(_workload("apps/v1", "Deployment", spec))
}

test_linux_pod_is_checked if {
	spec := {"os": {"name": "linux"}, "containers": [{"name": "web"}]}
	rule.violation == {_web_missing} with input as _in(_pod_with(spec))
}

test_delete_is_not_checked if {
	inp := {"review": {"operation": "DELETE", "oldObject": _pod({"name": "web"})}, "parameters": _params}
	count(rule.violation) == 0 with input as inp
}

test_update_is_checked if {
	inp := {"review": {"operation": "UPDATE", "object": _pod({"name": "web"}), "oldObject": _pod({"name": "web"})}, "parameters": _params}
	rule.violation == {_web_missing} with input as inp
}

test_default_parameter_when_none_given if {
	rule.violation == {_web_missing} with input as {"review": {"object": _pod({"name": "web"})}}
}

test_required_drop_capabilities_parameter if {
	params := {"requiredDropCapabilities": ["net_raw", "CAP_SYS_ADMIN"]}
	inp := {"review": {"object": _pod(_sc({"drop": ["NET_RAW"], "add": ["SYS_ADMIN"]}))}, "parameters": params}
	rule.violation == {
		{"msg": "container \"web\" does not drop SYS_ADMIN", "details": {"path": _drop_path}},
		{
			"msg": "container \"web\" adds SYS_ADMIN back in securityContext.capabilities.add",
			"details": {"path": ["spec", "containers", 0, "securityContext", "capabilities", "add", 0]},
		},
	} with input as inp
}

test_required_drop_capabilities_lists_every_missing_cap if {
	params := {"requiredDropCapabilities": ["SYS_ADMIN", "NET_RAW"]}
	inp := {"review": {"object": _pod({"name": "web"})}, "parameters": params}
	rule.violation == {{"msg": "container \"web\" does not drop NET_RAW, SYS_ADMIN", "details": {"path": _drop_path}}} with input as inp
}

test_drop_all_covers_every_required_cap if {
	params := {"requiredDropCapabilities": ["SYS_ADMIN", "NET_RAW"]}
	inp := {"review": {"object": _pod(_sc({"drop": ["ALL"]}))}, "parameters": params}
	count(rule.violation) == 0 with input as inp
}

test_required_all_parameter if {
	params := {"requiredDropCapabilities": ["ALL"]}
	inp := {"review": {"object": _pod(_sc({"drop": ["NET_RAW"], "add": ["all"]}))}, "parameters": params}
	rule.violation == {
		{"msg": "container \"web\" does not drop ALL", "details": {"path": _drop_path}},
		{
			"msg": "container \"web\" adds ALL capabilities back (ALL among them) in securityContext.capabilities.add",
			"details": {"path": ["spec", "containers", 0, "securityContext", "capabilities", "add", 0]},
		},
	} with input as inp
}

test_empty_parameter_checks_nothing if {
	c := {"name": "web", "securityContext": {"privileged": true, "capabilities": {"add": ["ALL"]}}}
	count(rule.violation) == 0 with input as {"review": {"object": _pod(c)}, "parameters": {"requiredDropCapabilities": []}}
}
