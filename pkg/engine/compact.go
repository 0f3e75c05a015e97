package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
	"unsafe"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Compact is a Value in a small binary form, for an offline run that must hold every
// object of a large manifest set until its last cross-object rule has run. A converted
// object (an OPA value, ~12 KB for a Deployment) is a tree of terms, maps and pointers;
// its compact form is a few hundred bytes of one allocation, which the garbage collector
// never has to look into. Value turns it back into an equal Value, at the cost of
// building the terms again (a few microseconds for a Deployment), and is called only for
// the objects a cross-object rule reads.
//
// A Compact is immutable and safe to share between goroutines. Its zero value is not a
// valid Compact.
type Compact struct {
	data   []byte
	kind   string
	ignore map[string]string
}

// Compact encodes v. It fails only for a value that is not data (a reference, a
// variable, a comprehension), which NewValue never makes.
func (v *Value) Compact() (Compact, error) {
	e := encoder{buf: make([]byte, 0, 1024)}
	if err := e.value(v.value, 0); err != nil {
		return Compact{}, fmt.Errorf("compact %s: %w", v.kind, err)
	}
	data := e.buf
	if cap(data)-len(data) > len(data)/8 {
		// Held for the whole run: no growth slack.
		data = append(make([]byte, 0, len(data)), data...)
	}
	ignore := v.ignore
	if len(ignore) == 0 {
		ignore = nil
	}
	return Compact{data: data, kind: v.kind, ignore: ignore}, nil
}

// Size is the number of bytes of the encoded value.
func (c Compact) Size() int { return len(c.data) }

// Value decodes c into a Value equal to the one it was made from. The Value's strings
// point into c's bytes, which are never written to.
func (c Compact) Value() (*Value, error) {
	v, err := decodeCompact(c.data)
	if err != nil {
		return nil, fmt.Errorf("decode compact %s: %w", c.kind, err)
	}
	return &Value{value: v, kind: c.kind, ignore: c.ignore}, nil
}

// Project decodes the part of c that p observes (Projection): an object observed
// by some keys keeps those alone, each projected in turn; everything else is decoded
// whole. The rest is skipped over, never built. A nil p observes nothing, and gives an
// empty object.
func (c Compact) Project(p *Projection) (*Value, error) {
	d := compactDecoder{data: c.data}
	var v ast.Value = ast.NewObject()
	if p != nil {
		t, err := d.project(0, p)
		if err != nil {
			return nil, fmt.Errorf("decode compact %s: at byte %d: %w", c.kind, d.at, err)
		}
		if d.at != len(d.data) {
			return nil, fmt.Errorf("decode compact %s: %d bytes after the value", c.kind, len(d.data)-d.at)
		}
		v = t.Value
	}
	return &Value{value: v, kind: c.kind, ignore: c.ignore}, nil
}

// The encoding: a tag byte, then for scalars their text and for composites their
// length and elements, lengths as unsigned varints.
const (
	tagNull   = 0
	tagFalse  = 1
	tagTrue   = 2
	tagNumber = 3 // length, the number's text (as JSON writes it)
	tagString = 4 // length, the bytes
	tagWord   = 5 // an index into words
	tagArray  = 6 // length, the elements
	tagObject = 7 // length, key and value of each item
	tagSet    = 8 // length, the elements
)

// maxCompactDepth bounds nesting, for decoding bytes that did not come from encode
// (the fuzz target): a decoder's recursion must not exhaust the stack. Manifests are
// refused far sooner (manifest's maxDepth).
const maxCompactDepth = 10_000

// words are strings that most Kubernetes objects hold, as keys or as values: each is
// written as its index in one byte, and decoded to one shared term. The list is fixed:
// an encoding is read back only by the process that wrote it, but a list that
// changed while a run held compact values would misread them.
var words = [...]string{
	"apiVersion", "kind", "metadata", "name", "namespace", "labels", "annotations",
	"spec", "status", "template", "selector", "matchLabels", "matchExpressions",
	"containers", "initContainers", "ephemeralContainers", "image", "imagePullPolicy",
	"command", "args", "env", "value", "valueFrom", "ports", "containerPort", "port",
	"targetPort", "protocol", "TCP", "UDP", "resources", "limits", "requests", "cpu",
	"memory", "securityContext", "capabilities", "drop", "add", "ALL", "NET_RAW",
	"privileged", "runAsNonRoot", "runAsUser", "runAsGroup", "readOnlyRootFilesystem",
	"allowPrivilegeEscalation", "volumeMounts", "volumes", "mountPath", "configMap",
	"secret", "secretName", "emptyDir", "replicas", "strategy", "type", "app",
	"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
	"app.kubernetes.io/part-of", "app.kubernetes.io/managed-by", "tier", "component",
	"version", "key", "operator", "values", "In", "NotIn", "Exists", "podSelector",
	"namespaceSelector", "policyTypes", "Ingress", "Egress", "ingress", "egress", "from",
	"to", "ipBlock", "cidr", "except", "loadBalancerSourceRanges", "clusterIP",
	"ClusterIP", "LoadBalancer", "NodePort", "data", "jobTemplate", "schedule",
	"restartPolicy", "Always", "OnFailure", "Never", "backoffLimit", "serviceName",
	"serviceAccountName", "nodeSelector", "tolerations", "affinity", "livenessProbe",
	"readinessProbe", "httpGet", "path", "initialDelaySeconds", "periodSeconds",
	"hostNetwork", "os", "v1", "apps/v1", "batch/v1", "networking.k8s.io/v1",
	"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod",
	"Service", "NetworkPolicy", "ConfigMap", "Secret", "Namespace", "ServiceAccount",
	"default", "http", "https", "true", "false",
	// Indexes from 128 on take two bytes: worth it for these longer ones.
	"seccompProfile", "RuntimeDefault", "IfNotPresent", "fieldRef", "fieldPath",
	"metadata.name", "metadata.namespace", "app.kubernetes.io/version", "helm.sh/chart",
	"meta.helm.sh/release-name", "meta.helm.sh/release-namespace", "Helm",
	"timeoutSeconds", "failureThreshold", "successThreshold", "startupProbe", "tcpSocket",
	"terminationGracePeriodSeconds", "automountServiceAccountToken", "priorityClassName",
	"revisionHistoryLimit", "progressDeadlineSeconds", "RollingUpdate", "rollingUpdate",
	"maxSurge", "maxUnavailable", "volumeClaimTemplates", "accessModes", "ReadWriteOnce",
	"persistentVolumeClaim", "claimName", "storageClassName", "defaultMode", "readOnly",
	"podAntiAffinity", "podAffinity", "nodeAffinity", "labelSelector", "topologyKey",
	"kubernetes.io/hostname", "topology.kubernetes.io/zone",
	"requiredDuringSchedulingIgnoredDuringExecution",
	"preferredDuringSchedulingIgnoredDuringExecution", "podAffinityTerm", "weight",
	"topologySpreadConstraints", "whenUnsatisfiable", "DoNotSchedule", "ScheduleAnyway",
	"effect", "NoSchedule", "NoExecute", "Equal", "fsGroup", "sessionAffinity",
	"externalTrafficPolicy", "ipFamilies", "ipFamilyPolicy", "SingleStack", "IPv4",
	"concurrencyPolicy", "Forbid", "successfulJobsHistoryLimit",
	"failedJobsHistoryLimit", "ttlSecondsAfterFinished", "activeDeadlineSeconds",
	"completions", "parallelism", "envFrom", "configMapKeyRef", "secretKeyRef",
	"lifecycle", "preStop", "exec", "workingDir", "stdin", "tty", "dnsPolicy",
	"ClusterFirst", "hostPID", "hostIPC", "hostPath", "nodeName", "subPath",
	"apps/v1beta1", "extensions/v1beta1", "policy/v1", "rbac.authorization.k8s.io/v1",
	"networking.k8s.io/v1beta1", "ingressClassName", "rules", "host", "backend",
	"pathType", "Prefix", "Exact", "tls", "hosts", "number", "main", "info", "/healthz",
}

// wordIndex and wordTerms are words' lookup tables, built once and never written again.
var (
	wordIndex = func() map[string]int {
		m := make(map[string]int, len(words))
		for i, w := range words {
			m[w] = i
		}
		return m
	}()
	wordTerms = func() []*ast.Term {
		ts := make([]*ast.Term, len(words))
		for i, w := range words {
			ts[i] = ast.StringTerm(w)
		}
		return ts
	}()
)

type encoder struct{ buf []byte }

func (e *encoder) uvarint(n int) {
	e.buf = binary.AppendUvarint(e.buf, uint64(n)) //nolint:gosec // G115: lengths and indexes, never negative
}

func (e *encoder) text(tag byte, s string) {
	e.buf = append(e.buf, tag)
	e.uvarint(len(s))
	e.buf = append(e.buf, s...)
}

func (e *encoder) value(v ast.Value, depth int) error {
	if depth > maxCompactDepth {
		return errors.New("nested too deeply")
	}
	switch x := v.(type) {
	case ast.Null:
		e.buf = append(e.buf, tagNull)
	case ast.Boolean:
		if x {
			e.buf = append(e.buf, tagTrue)
		} else {
			e.buf = append(e.buf, tagFalse)
		}
	case ast.Number:
		e.text(tagNumber, string(x))
	case ast.String:
		if i, ok := wordIndex[string(x)]; ok {
			e.buf = append(e.buf, tagWord)
			e.uvarint(i)
			return nil
		}
		e.text(tagString, string(x))
	case *ast.Array:
		e.buf = append(e.buf, tagArray)
		e.uvarint(x.Len())
		for i := range x.Len() {
			if err := e.value(x.Elem(i).Value, depth+1); err != nil {
				return err
			}
		}
	case ast.Object:
		e.buf = append(e.buf, tagObject)
		e.uvarint(x.Len())
		return x.Iter(func(k, v *ast.Term) error {
			if err := e.value(k.Value, depth+1); err != nil {
				return err
			}
			return e.value(v.Value, depth+1)
		})
	case ast.Set:
		e.buf = append(e.buf, tagSet)
		e.uvarint(x.Len())
		for _, t := range x.Slice() {
			if err := e.value(t.Value, depth+1); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("cannot encode %s", ast.ValueName(v))
	}
	return nil
}

// errTruncated is the error for bytes that end inside a value.
var errTruncated = errors.New("truncated")

// decodeCompact decodes one value that fills data.
func decodeCompact(data []byte) (ast.Value, error) {
	d := compactDecoder{data: data}
	t, err := d.term(0)
	if err != nil {
		return nil, fmt.Errorf("at byte %d: %w", d.at, err)
	}
	if d.at != len(d.data) {
		return nil, fmt.Errorf("%d bytes after the value", len(d.data)-d.at)
	}
	return t.Value, nil
}

type compactDecoder struct {
	data []byte
	at   int
	// terms is a slab the decoded terms are cut from: one allocation for many terms,
	// all of them part of the one value decoded.
	terms []ast.Term
}

func (d *compactDecoder) uvarint() (int, error) {
	n, size := binary.Uvarint(d.data[d.at:])
	if size <= 0 {
		return 0, errTruncated
	}
	d.at += size
	// Every element takes at least a byte, so no honest length passes what is left.
	left := uint64(len(d.data) - d.at) //nolint:gosec // G115: at never passes the end
	if n > left {
		return 0, fmt.Errorf("length %d past the end", n)
	}
	return int(n), nil //nolint:gosec // G115: n is at most what is left of data, an int
}

// text returns the next n bytes as a string that shares their memory: the bytes of a
// Compact are never written to.
func (d *compactDecoder) text() (string, error) {
	n, err := d.uvarint()
	if err != nil {
		return "", err
	}
	if n == 0 {
		return "", nil
	}
	s := unsafe.String(&d.data[d.at], n) //nolint:gosec // G103: a Compact's bytes are immutable; strings share them instead of copying
	d.at += n
	return s, nil
}

func (d *compactDecoder) newTerm(v ast.Value) *ast.Term {
	if len(d.terms) == cap(d.terms) {
		d.terms = make([]ast.Term, 0, 64)
	}
	d.terms = append(d.terms, ast.Term{Value: v})
	return &d.terms[len(d.terms)-1]
}

// tag reads the tag of the next value, at nesting depth.
func (d *compactDecoder) tag(depth int) (byte, error) {
	if depth > maxCompactDepth {
		return 0, errors.New("nested too deeply")
	}
	if d.at >= len(d.data) {
		return 0, errTruncated
	}
	d.at++
	return d.data[d.at-1], nil
}

// word reads the index into words of a tagWord value.
func (d *compactDecoder) word() (int, error) {
	n, size := binary.Uvarint(d.data[d.at:])
	if size <= 0 || n >= uint64(len(words)) {
		return 0, errors.New("bad word index")
	}
	d.at += size
	return int(n), nil
}

func (d *compactDecoder) term(depth int) (*ast.Term, error) {
	tag, err := d.tag(depth)
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagNull:
		return ast.InternedNullTerm, nil
	case tagFalse:
		return ast.InternedTerm(false), nil
	case tagTrue:
		return ast.InternedTerm(true), nil
	case tagNumber:
		s, err := d.text()
		if err != nil {
			return nil, err
		}
		return d.newTerm(ast.Number(s)), nil
	case tagString:
		s, err := d.text()
		if err != nil {
			return nil, err
		}
		return d.newTerm(ast.String(s)), nil
	case tagWord:
		n, err := d.word()
		if err != nil {
			return nil, err
		}
		return wordTerms[n], nil
	case tagArray, tagSet:
		n, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		elems := make([]*ast.Term, n)
		for i := range elems {
			if elems[i], err = d.term(depth + 1); err != nil {
				return nil, err
			}
		}
		if tag == tagSet {
			return d.newTerm(ast.NewSet(elems...)), nil
		}
		return d.newTerm(ast.NewArray(elems...)), nil
	case tagObject:
		n, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		items := make([][2]*ast.Term, n)
		for i := range items {
			if items[i][0], err = d.term(depth + 1); err != nil {
				return nil, err
			}
			if items[i][1], err = d.term(depth + 1); err != nil {
				return nil, err
			}
		}
		return d.newTerm(ast.NewObject(items...)), nil
	}
	return nil, fmt.Errorf("bad tag %d", tag)
}

// appendJSON appends c's value to buf as JSON: the same value that Value returns, for
// a reader that takes JSON (lazyObject). Sets, keys that are not strings and strings
// that are not UTF-8 have no JSON form that reads back the same, and fail.
func (c Compact) appendJSON(buf []byte) ([]byte, error) {
	d := compactDecoder{data: c.data}
	buf, err := d.json(buf, 0)
	if err != nil {
		return nil, fmt.Errorf("compact %s as JSON, at byte %d: %w", c.kind, d.at, err)
	}
	if d.at != len(d.data) {
		return nil, fmt.Errorf("compact %s as JSON: %d bytes after the value", c.kind, len(d.data)-d.at)
	}
	return buf, nil
}

func (d *compactDecoder) json(buf []byte, depth int) ([]byte, error) {
	tag, err := d.tag(depth)
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagNull:
		return append(buf, "null"...), nil
	case tagFalse:
		return append(buf, "false"...), nil
	case tagTrue:
		return append(buf, "true"...), nil
	case tagNumber:
		s, err := d.text()
		return append(buf, s...), err
	case tagString:
		s, err := d.text()
		if err != nil {
			return nil, err
		}
		return appendJSONString(buf, s)
	case tagWord:
		n, err := d.word()
		if err != nil {
			return nil, err
		}
		return appendJSONString(buf, words[n])
	case tagArray:
		n, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		buf = append(buf, '[')
		for i := range n {
			if i > 0 {
				buf = append(buf, ',')
			}
			if buf, err = d.json(buf, depth+1); err != nil {
				return nil, err
			}
		}
		return append(buf, ']'), nil
	case tagObject:
		n, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		buf = append(buf, '{')
		for i := range n {
			if i > 0 {
				buf = append(buf, ',')
			}
			if t := d.data[min(d.at, len(d.data)-1)]; t != tagString && t != tagWord {
				return nil, errors.New("an object key that is not a string")
			}
			if buf, err = d.json(buf, depth+1); err != nil {
				return nil, err
			}
			buf = append(buf, ':')
			if buf, err = d.json(buf, depth+1); err != nil {
				return nil, err
			}
		}
		return append(buf, '}'), nil
	case tagSet:
		return nil, errors.New("a set has no JSON form")
	}
	return nil, fmt.Errorf("bad tag %d", tag)
}

// appendJSONString appends s as a JSON string. Bytes from U+0020 on pass as they are
// (s is UTF-8); what JSON requires escaped is escaped.
func appendJSONString(buf []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return nil, errors.New("a string that is not UTF-8")
	}
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= 0x20 && b != '"' && b != '\\' {
			continue
		}
		buf = append(buf, s[start:i]...)
		switch b {
		case '"', '\\':
			buf = append(buf, '\\', b)
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		default:
			buf = append(buf, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
		}
		start = i + 1
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"'), nil
}

// project decodes the next value as p observes it (Compact.Project).
func (d *compactDecoder) project(depth int, p *Projection) (*ast.Term, error) {
	if p.whole || d.at >= len(d.data) || d.data[d.at] != tagObject {
		return d.term(depth)
	}
	d.at++
	n, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	var items [][2]*ast.Term
	for range n {
		k, err := d.term(depth + 1)
		if err != nil {
			return nil, err
		}
		var sub *Projection
		if s, ok := k.Value.(ast.String); ok {
			sub = p.keys[string(s)]
		}
		if sub == nil {
			if err := d.skip(depth + 1); err != nil {
				return nil, err
			}
			continue
		}
		v, err := d.project(depth+1, sub)
		if err != nil {
			return nil, err
		}
		items = append(items, [2]*ast.Term{k, v})
	}
	return d.newTerm(ast.NewObject(items...)), nil
}

// skip moves past the next value without decoding it.
func (d *compactDecoder) skip(depth int) error {
	tag, err := d.tag(depth)
	if err != nil {
		return err
	}
	switch tag {
	case tagNull, tagFalse, tagTrue:
	case tagNumber, tagString:
		n, err := d.uvarint()
		if err != nil {
			return err
		}
		d.at += n
	case tagWord:
		if _, err := d.word(); err != nil {
			return err
		}
	case tagArray, tagSet, tagObject:
		n, err := d.uvarint()
		if err != nil {
			return err
		}
		if tag == tagObject {
			n *= 2
		}
		for range n {
			if err := d.skip(depth + 1); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("bad tag %d", tag)
	}
	return nil
}
