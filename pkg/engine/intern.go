package engine

import "github.com/open-policy-agent/opa/v1/ast"

// commonStrings are the field names (and a few values) that nearly every Kubernetes
// manifest repeats: the metadata, workload, pod, container, Service, NetworkPolicy and
// ConfigMap fields of the core APIs. Builder makes each of them one shared OPA string
// rather than a new one per occurrence: a Deployment holds ~60 such strings, and each
// shared one is an allocation the decoder does not make and a string the collector
// does not mark for the rest of the run.
var commonStrings = []string{
	// Every object.
	"apiVersion", "kind", "metadata", "name", "namespace", "labels", "annotations",
	"generateName", "uid", "resourceVersion", "creationTimestamp", "ownerReferences",
	"finalizers", "spec", "status", "data", "stringData", "binaryData", "type", "items",
	// Well-known labels and their usual keys.
	"app", "component", "tier", "role", "version", "env", "environment", "release",
	"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
	"app.kubernetes.io/component", "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by",
	"k8s-app", "helm.sh/chart",
	// API versions and kinds.
	"v1", "apps/v1", "batch/v1", "networking.k8s.io/v1", "policy/v1", "autoscaling/v2",
	"rbac.authorization.k8s.io/v1", "Pod", "Deployment", "StatefulSet", "DaemonSet",
	"ReplicaSet", "ReplicationController", "Job", "CronJob", "PodTemplate", "Service",
	"NetworkPolicy", "ConfigMap", "Secret", "Namespace", "ServiceAccount", "Ingress",
	"PersistentVolumeClaim", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Role",
	"RoleBinding", "ClusterRole", "ClusterRoleBinding", "List",
	// Workloads.
	"replicas", "selector", "matchLabels", "matchExpressions", "key", "operator", "values",
	"In", "NotIn", "Exists", "DoesNotExist", "template", "strategy", "rollingUpdate",
	"maxSurge", "maxUnavailable", "RollingUpdate", "Recreate", "revisionHistoryLimit",
	"minReadySeconds", "serviceName", "podManagementPolicy", "updateStrategy",
	"volumeClaimTemplates", "schedule", "jobTemplate", "concurrencyPolicy",
	"successfulJobsHistoryLimit", "failedJobsHistoryLimit", "backoffLimit", "completions",
	"parallelism", "activeDeadlineSeconds", "ttlSecondsAfterFinished", "suspend",
	// Pods.
	"containers", "initContainers", "ephemeralContainers", "volumes", "restartPolicy",
	"Always", "OnFailure", "Never", "serviceAccountName", "automountServiceAccountToken",
	"nodeSelector", "tolerations", "affinity", "hostNetwork", "hostPID", "hostIPC",
	"dnsPolicy", "priorityClassName", "terminationGracePeriodSeconds", "imagePullSecrets",
	"effect", "NoSchedule", "NoExecute",
	// Containers.
	"image", "imagePullPolicy", "IfNotPresent", "IfNotPresent", "command", "args",
	"workingDir", "ports", "containerPort", "hostPort", "protocol", "TCP", "UDP", "SCTP",
	"env", "value", "valueFrom", "envFrom", "configMapKeyRef", "secretKeyRef", "fieldRef",
	"fieldPath", "resources", "limits", "requests", "cpu", "memory", "ephemeral-storage",
	"volumeMounts", "mountPath", "subPath", "readOnly", "livenessProbe", "readinessProbe",
	"startupProbe", "httpGet", "tcpSocket", "exec", "path", "port", "scheme", "HTTP",
	"initialDelaySeconds", "periodSeconds", "timeoutSeconds", "failureThreshold",
	"successThreshold", "lifecycle", "preStop", "postStart", "stdin", "tty",
	// Security contexts.
	"securityContext", "capabilities", "drop", "add", "ALL", "NET_RAW", "CAP_NET_RAW",
	"NET_ADMIN", "SYS_ADMIN", "SYS_TIME", "CHOWN", "SETUID", "SETGID", "NET_BIND_SERVICE",
	"privileged", "allowPrivilegeEscalation", "readOnlyRootFilesystem", "runAsNonRoot",
	"runAsUser", "runAsGroup", "fsGroup", "seccompProfile", "RuntimeDefault",
	"seLinuxOptions", "procMount",
	// Volumes.
	"configMap", "secret", "secretName", "emptyDir", "hostPath", "persistentVolumeClaim",
	"claimName", "projected", "sources", "defaultMode", "medium", "sizeLimit",
	"accessModes", "ReadWriteOnce", "storageClassName", "storage",
	// Services.
	"targetPort", "nodePort", "clusterIP", "ClusterIP", "NodePort", "LoadBalancer",
	"ExternalName", "loadBalancerSourceRanges", "externalTrafficPolicy", "sessionAffinity",
	"http", "https", "grpc", "metrics",
	// NetworkPolicies.
	"podSelector", "namespaceSelector", "policyTypes", "Ingress", "Egress", "ingress",
	"egress", "from", "to", "ipBlock", "cidr", "except", "endPort",
	"kubernetes.io/metadata.name",
	// RBAC.
	"rules", "apiGroups", "verbs", "subjects", "roleRef", "apiGroup", "get", "list", "watch",
}

// interned maps each common string to its one OPA value. Read-only after init.
var interned = func() map[string]ast.Value {
	m := make(map[string]ast.Value, len(commonStrings))
	for _, s := range commonStrings {
		m[s] = ast.InternedValue(s)
	}
	return m
}()

// internedString returns the OPA string s, shared when it is a common one.
func internedString(s string) ast.Value {
	if v, ok := interned[s]; ok {
		return v
	}
	return ast.InternedValue(s)
}
