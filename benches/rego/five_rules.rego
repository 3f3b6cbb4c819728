# The five-rule policy of benches/support/mod.rs (POLICY), written in Rego for the side-by-side
# of benches/rego.rs: the same rules over the same facts (`versioner_core::policy::Facts` as
# JSON, in `input.facts`) at the same instant (`input.at`), giving what `evaluate` gives: every
# rule's outcome (status, code, message), the decision, and the instant at which time alone
# clears every block.
package versioner

import rego.v1

ns_per_hour := 3600000000000

at := time.parse_rfc3339_ns(input.at)

facts := input.facts

in_e9 if facts.environment == "e9"

lowered(s) := lower(s) if s != null

else := ""

# --- One at a time: concurrency, max 1 per product and environment, stale after 2h ----------
counted contains d.id if {
	some d in facts.open_deployments
	d.status == "started"
	d.product_name == facts.product
	at - time.parse_rfc3339_ns(d.started_at) < 2 * ns_per_hour
}

concurrency := o if {
	count(counted) >= 1
	o := {
		"rule": "One at a time", "status": "failed", "code": "CONCURRENT_DEPLOYMENT",
		"message": sprintf("`%s` to `%s` has %d deployment(s) in progress (max 1); wait for them to finish", [facts.product, facts.environment, count(counted)]),
	}
} else := {
	"rule": "One at a time", "status": "passed",
	"message": sprintf("%d of 1 deployment(s) in progress", [count(counted)]),
}

# --- Holiday freeze: a one-off deny window in Europe/London, e9 only --------------------------
local_time := sprintf("%04d-%02d-%02dT%02d:%02d", [y, m, d, h, mi]) if {
	[y, m, d] := time.date([at, "Europe/London"])
	[h, mi, _] := time.clock([at, "Europe/London"])
}

in_freeze if {
	local_time >= "2001-12-24T00:00"
	local_time < "2001-12-27T00:00"
}

freeze := o if {
	not in_e9
	o := {"rule": "Holiday freeze", "status": "not_applicable", "message": sprintf("the rule does not apply to `%s` in `%s`", [facts.product, facts.environment])}
} else := o if {
	in_freeze
	o := {
		"rule": "Holiday freeze", "status": "failed", "code": "NO_DEPLOY_WINDOW",
		"message": sprintf("`%s` is frozen (Holiday freeze, Europe/London) until 2001-12-27T00:00", [facts.environment]),
		# Europe/London is UTC+0 in December.
		"retry_after": time.parse_rfc3339_ns("2001-12-27T00:00:00Z"),
	}
} else := {"rule": "Holiday freeze", "status": "passed", "message": "outside every no-deploy window"}

# --- Soaked in e2: flow with a 1h soak, e9 only ----------------------------------------------
stint := object.get(facts.stints, "e2", {})

first_success := time.parse_rfc3339_ns(stint.first_success_at) if stint.first_success_at != null

flow := o if {
	not in_e9
	o := {"rule": "Soaked in e2", "status": "not_applicable", "message": sprintf("the rule does not apply to `%s` in `%s`", [facts.product, facts.environment])}
} else := o if {
	not first_success
	o := {
		"rule": "Soaked in e2", "status": "failed", "code": "FLOW_VIOLATION",
		"message": sprintf("`%s` %s has not been deployed to `e2`; deploy it there first", [facts.product, facts.version]),
	}
} else := o if {
	at - first_success < ns_per_hour
	o := {
		"rule": "Soaked in e2", "status": "failed", "code": "INSUFFICIENT_SOAK_TIME",
		"message": sprintf("`%s` %s has soaked in `e2` for %ds of 1h", [facts.product, facts.version, (at - first_success) / 1000000000]),
		"retry_after": first_success + ns_per_hour,
	}
} else := {"rule": "Soaked in e2", "status": "passed", "message": sprintf("`%s` %s soaked in `e2`", [facts.product, facts.version])}

# --- QA sign-off: a version approval of type qa ----------------------------------------------
has_qa if {
	some a in facts.approvals
	lower(a.approval_type) == "qa"
}

qa := {"rule": "QA sign-off", "status": "passed", "message": sprintf("`%s` %s has the approvals qa", [facts.product, facts.version])} if has_qa

else := {
	"rule": "QA sign-off", "status": "failed", "code": "QUALITY_APPROVAL_REQUIRED",
	"message": sprintf("`%s` %s lacks the approval(s) qa; record each with `versioner approve --product %s --version %s --type <type>`", [facts.product, facts.version, facts.product, facts.version]),
}

# --- Release approval: one, from someone who neither deploys nor built it, e9 only -----------
builders := {lower(b) | some b in facts.builders}

release_approvers contains lower(a.approver) if {
	some a in facts.approvals
	a.approval_type == "release"
	object.get(a, "environment", null) in {null, facts.environment}
	lower(a.approver) != lowered(object.get(facts, "principal", null))
	lower(a.approver) != lowered(object.get(facts, "deployed_by", null))
	not lower(a.approver) in builders
	time.parse_rfc3339_ns(a.granted_at) <= at
}

release := o if {
	not in_e9
	o := {"rule": "Release approval", "status": "not_applicable", "message": sprintf("the rule does not apply to `%s` in `%s`", [facts.product, facts.environment])}
} else := o if {
	count(release_approvers) >= 1
	o := {"rule": "Release approval", "status": "passed", "message": sprintf("%d of 1 release approval(s)", [count(release_approvers)])}
} else := {
	"rule": "Release approval", "status": "failed", "code": "APPROVAL_REQUIRED",
	"message": sprintf("a deployment of `%s` %s to `%s` requires 1 release approval(s) from distinct approvers (not the deployer or the builder); it has %d", [facts.product, facts.version, facts.environment, count(release_approvers)]),
}

# --- The verdict ----------------------------------------------------------------------------
outcomes := [concurrency, freeze, flow, qa, release]

blocking := [o | some o in outcomes; o.status == "failed"]

# Time alone clears every block only if every blocking outcome has its own retry instant.
retry_after := max([o.retry_after | some o in blocking]) if {
	count(blocking) > 0
	every o in blocking {
		o.retry_after
	}
} else := null

verdict := {
	"allowed": count(blocking) == 0,
	"outcomes": outcomes,
	"retry_after": retry_after,
}
