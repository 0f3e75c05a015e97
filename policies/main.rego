# METADATA
# title: ward entrypoint
# description: |
#   Evaluates every enabled rule against one review and tags each violation with the
#   rule's package name. input.rules maps a rule package name (the snake_case folder
#   name) to that rule's parameters; each rule sees its own as input.parameters.
package ward.main

violations contains result if {
	some name, params in input.rules
	found := data.ward.rules[name].violation with input as {"review": input.review, "parameters": params}
	some v in found
	result := {"rule": name, "msg": v.msg, "details": object.get(v, "details", {})}
}
