// Package engine compiles ward's Rego rules once and evaluates objects against them. It
// is the only package that imports OPA, and the one both `ward lint` and `ward serve`
// call, the same way, so offline and admission verdicts cannot drift apart.
//
// The flow: New compiles the embedded library and user policies and reads the rules'
// METADATA into a registry. Prepare binds the compiled rules to an Inventory (the other
// objects known, data.inventory) and returns an Evaluator, which evaluates Reviews
// concurrently: each enabled rule's violation set is its own compiled query, run
// straight through OPA's evaluator, and only on reviews of the kinds the rule can
// judge (dispatch.go).
package engine
