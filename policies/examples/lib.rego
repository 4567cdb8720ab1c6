# Reusable rules for custody environment policies.
#
# Every function takes the policy input (the verified facts, see docs/policy.md) and the
# environment's parameters, and returns a set of deny messages; an empty set, or an undefined
# result, means "no objection". Environment policies (package custody.env.<name>) add these
# messages to their `deny` set. Each rule has its own message, so that a denial says exactly
# which requirement failed.
#
# Absent facts count against the artifact: a missing list is empty, a missing scan is "not
# scanned", a missing clock is an error. Policies fail closed.
package custody.lib

# (1) Built by a trusted builder, from our repository, from an allowed branch.

# The message when no provenance could be verified at all.
no_provenance := "no verified provenance: nothing attests how the artifact was built"

provenance_denials(facts, builders, repository, refs) := {no_provenance} if {
	count(object.get(facts, "provenance", [])) == 0
}

provenance_denials(facts, builders, repository, refs) := denials if {
	count(object.get(facts, "provenance", [])) > 0
	denials := {msg |
		some p in facts.provenance
		some msg in provenance_problems(p, builders, repository, refs)
	}
}

# Every verified provenance must be right: a second provenance from elsewhere is a red flag,
# not something to ignore.
provenance_problems(p, builders, repository, refs) := (builder | source) | ref if {
	builder := {msg |
		not p.builderId in builders
		msg := sprintf("provenance from untrusted builder %v (allowed: %v)", [p.builderId, concat(", ", sort(builders))])
	}
	source := {msg |
		p.sourceRepository != repository
		msg := sprintf("provenance built from repository %v, not %v", [p.sourceRepository, repository])
	}
	ref := {msg |
		not p.sourceRef in refs
		msg := sprintf("provenance built from ref %v, not %v", [p.sourceRef, concat(" or ", sort(refs))])
	}
}

# (2) Reproduced by enough independent rebuilders: distinct identities, none of them the
# identity that signed the provenance (a builder cannot confirm itself).
rebuild_denials(facts, minimum) := {msg} if {
	builders := {p.identity | some p in object.get(facts, "provenance", [])}
	independent := {r.identity |
		some r in object.get(facts, "rebuilds", [])
		not r.identity in builders
	}
	count(independent) < minimum
	msg := sprintf("reproduced by %d independent rebuilder(s), %d required", [count(independent), minimum])
}

# (3) No critical known vulnerability. An artifact that was not scanned is denied: no news is
# not good news.
vulnerability_denials(facts) := {"not scanned for known vulnerabilities"} if {
	not facts.vulnerabilities.scanned == true
}

vulnerability_denials(facts) := {msg} if {
	facts.vulnerabilities.scanned == true
	ids := {f.id |
		some f in object.get(facts.vulnerabilities, "findings", [])
		f.severity == "critical"
	}
	count(ids) > 0
	msg := sprintf("critical vulnerabilities: %v", [concat(", ", sort(ids))])
}

# (4) Approved by enough distinct members of the release team. When approvals fall short,
# the denial also says why the others did not count: approvals custody ignored
# (self-approval, duplicate), approvals whose evidence was rejected (e.g. replayed from
# another artifact or environment), and approvers outside the team.
approval_denials(facts, team, required) := denials if {
	approvals := object.get(facts, "approvals", [])
	approvers := {a.identity | some a in approvals; a.identity in team}
	count(approvers) < required
	summary := sprintf("approved by %d of %d required release-team members", [count(approvers), required])
	outsiders := {sprintf("approval by %v ignored: not in the release team", [a.identity]) |
		some a in approvals
		not a.identity in team
	}
	ignored := {sprintf("approval by %v ignored: %v", [a.identity, a.reason]) |
		some a in object.get(facts, "ignoredApprovals", [])
	}
	rejected := {rejected_message(r) |
		some r in object.get(facts, "rejected", [])
		r.kind == "approval"
	}
	denials := (({summary} | outsiders) | ignored) | rejected
}

# (5) Provenance not older than `max_days` days, by the input's clock (`nowUnix`): the
# policy has no clock of its own.
freshness_denials(facts, max_days) := {"input has no nowUnix: cannot judge the provenance's age"} if {
	not is_number(facts.nowUnix)
}

freshness_denials(facts, max_days) := denials if {
	is_number(facts.nowUnix)
	denials := {msg |
		some p in object.get(facts, "provenance", [])
		msg := age_problem(facts.nowUnix, p, max_days)
	}
}

age_problem(now, p, max_days) := "provenance has no finish time: cannot judge its age" if {
	not is_number(p.finishedUnix)
}

age_problem(now, p, max_days) := msg if {
	is_number(p.finishedUnix)
	age := now - p.finishedUnix
	age > max_days * 86400
	msg := sprintf("provenance is %d days old, older than the %d-day limit", [floor(age / 86400), max_days])
}

# (6) Every rejected signature or provenance is reported: evidence that failed verification
# next to an artifact is a sign of tampering or a broken pipeline, worth a human's look.
rejected_evidence_denials(facts, kinds) := {rejected_message(r) |
	some r in object.get(facts, "rejected", [])
	r.kind in kinds
}

rejected_message(r) := sprintf("%v rejected: %v (%v, referrer %v)", [r.kind, r.reason, r.code, r.referrer])
