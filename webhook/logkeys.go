package webhook

// Log keys. Messages are constant; what varies goes in these key/value pairs. Object
// contents are never logged: a Secret could pass through one day.
const (
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
