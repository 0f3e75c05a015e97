package webhook

// Log keys. Messages are constant; what varies goes in these key/value pairs. Object
// contents are never logged: a Secret could pass through one day.
const (
	// The keys controller-runtime's admission.Webhook gave each request's logger, kept
	// since Endpoint replaced it.
	keyObject    = "object"
	keyNamespace = "namespace"
	keyName      = "name"
	keyResource  = "resource"
	keyUser      = "user"
	keyRequestID = "requestID"

	keyOperation      = "operation"
	keyKind           = "kind"
	keyDecision       = "decision"
	keyRules          = "rules"
	keyEnforcement    = "enforcement"
	keyDuration       = "duration"
	keyTimeout        = "timeout"
	keyAction         = "action"
	keyReason         = "reason"
	keyCertDir        = "certDir"
	keyAddress        = "address"
	keyCount          = "count"
	keyGVK            = "gvk"
	keyLimit          = "limit"
	keySince          = "since"
	keyMaxConnections = "maxConnections"
)
