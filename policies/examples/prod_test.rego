# Unit tests of the production policy: `custody policy test policies/examples`.
# `good` is a release that meets every requirement; each test changes one fact.
package custody.env.prod_test

import data.custody.env.prod

day := 86400

now := 1795420800

good := {
	"action": "deploy",
	"environment": "prod",
	"now": "2026-11-22T08:00:00Z",
	"nowUnix": now,
	"artifact": {
		"repository": "app",
		"digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
		"files": [{"name": "hello", "digest": "sha256:2222222222222222222222222222222222222222222222222222222222222222"}],
	},
	"signatures": [{"identity": "alice@example.com", "keyid": "k-alice", "role": "release", "logIndex": 4}],
	"provenance": [{
		"identity": "builder@example.com", "keyid": "k-builder",
		"builderId": "https://custody.dev/builder/local@v1",
		"buildType": "https://custody.dev/buildtypes/sandbox/v1",
		"sourceRepository": "git+https://example.com/app.git",
		"sourceRevision": "0123456789abcdef0123456789abcdef01234567",
		"sourceRef": "refs/heads/main",
		"startedOn": "2026-11-20T07:59:00Z", "finishedOn": "2026-11-20T08:00:00Z",
		"finishedUnix": now - (2 * day), "logIndex": 5,
	}],
	"rebuilds": [
		{"identity": "rebuilder-1@example.org", "keyid": "k-r1", "logIndex": 6},
		{"identity": "rebuilder-2@example.net", "keyid": "k-r2", "logIndex": 8},
	],
	"sbom": [{"identity": "builder@example.com", "keyid": "k-builder", "components": 12}],
	"vulnerabilities": {"scanned": true, "findings": [
		{"id": "RUSTSEC-2026-0001", "package": "foo", "version": "1.0.0", "severity": null},
	]},
	"approvals": [
		{"identity": "bob@example.com", "keyid": "k-bob", "logIndex": 7, "comment": null},
		{"identity": "carol@example.com", "keyid": "k-carol", "logIndex": 9, "comment": "LGTM"},
	],
	"ignoredApprovals": [],
	"deployment": {"current": null, "sequence": 0, "isCurrent": false},
	"rejected": [],
}

# The good release's provenance with some fields replaced.
provenance_with(fields) := [object.union(good.provenance[0], fields)]

test_good_release_is_allowed if {
	count(prod.deny) == 0 with input as good
}

test_no_provenance_is_denied if {
	prod.deny == {
		"no verified provenance: nothing attests how the artifact was built",
	} with input as object.union(good, {"provenance": []})
}

test_untrusted_builder_is_denied if {
	prod.deny == {"provenance from untrusted builder https://evil.example/builder (allowed: https://custody.dev/builder/local@v1)"} with input as object.union(good, {"provenance": provenance_with({"builderId": "https://evil.example/builder"})})
}

test_other_repository_is_denied if {
	prod.deny == {"provenance built from repository git+https://example.com/fork.git, not git+https://example.com/app.git"} with input as object.union(good, {"provenance": provenance_with({"sourceRepository": "git+https://example.com/fork.git"})})
}

test_feature_branch_is_denied if {
	prod.deny == {"provenance built from ref refs/heads/feature, not refs/heads/main"} with input as object.union(good, {"provenance": provenance_with({"sourceRef": "refs/heads/feature"})})
}

test_unknown_ref_is_denied if {
	"provenance built from ref null, not refs/heads/main" in prod.deny with input as object.union(good, {"provenance": provenance_with({"sourceRef": null})})
}

test_one_rebuilder_is_not_enough if {
	prod.deny == {"reproduced by 1 independent rebuilder(s), 2 required"} with input as object.union(good, {"rebuilds": [good.rebuilds[0]]})
}

test_same_rebuilder_twice_counts_once if {
	prod.deny == {"reproduced by 1 independent rebuilder(s), 2 required"} with input as object.union(good, {"rebuilds": [good.rebuilds[0], object.union(good.rebuilds[1], {"identity": "rebuilder-1@example.org"})]})
}

test_builder_cannot_confirm_itself if {
	prod.deny == {"reproduced by 1 independent rebuilder(s), 2 required"} with input as object.union(good, {"rebuilds": [good.rebuilds[0], {"identity": "builder@example.com", "keyid": "k-builder", "logIndex": 10}]})
}

test_unscanned_is_denied if {
	prod.deny == {"not scanned for known vulnerabilities"} with input as object.union(good, {"vulnerabilities": {"scanned": false, "findings": []}})
}

test_missing_scan_is_denied if {
	prod.deny == {"not scanned for known vulnerabilities"} with input as object.remove(good, {"vulnerabilities"})
}

test_critical_vulnerabilities_are_listed if {
	findings := [
		{"id": "RUSTSEC-2026-0009", "package": "bar", "version": "2.0.0", "severity": "critical"},
		{"id": "RUSTSEC-2026-0002", "package": "baz", "version": "0.1.0", "severity": "critical"},
		{"id": "RUSTSEC-2026-0003", "package": "qux", "version": "0.1.0", "severity": "high"},
	]
	prod.deny == {"critical vulnerabilities: RUSTSEC-2026-0002, RUSTSEC-2026-0009"} with input as object.union(good, {"vulnerabilities": {"scanned": true, "findings": findings}})
}

test_one_approval_is_not_enough if {
	prod.deny == {"approved by 1 of 2 required release-team members"} with input as object.union(good, {"approvals": [good.approvals[0]]})
}

test_outside_approver_does_not_count if {
	prod.deny == {
		"approved by 1 of 2 required release-team members",
		"approval by mallory@example.com ignored: not in the release team",
	} with input as object.union(good, {"approvals": [good.approvals[0], {"identity": "mallory@example.com", "keyid": "k-m", "logIndex": 11, "comment": null}]})
}

test_self_approval_is_surfaced if {
	prod.deny == {
		"approved by 1 of 2 required release-team members",
		"approval by alice@example.com ignored: self-approval",
	} with input as object.union(good, {
		"approvals": [good.approvals[0]],
		"ignoredApprovals": [{"identity": "alice@example.com", "keyid": "k-alice2", "reason": "self-approval"}],
	})
}

test_replayed_approval_is_surfaced if {
	prod.deny == {
		"approved by 1 of 2 required release-team members",
		"approval rejected: approval is for another artifact (CUSTODY-E1009, referrer sha256:3333333333333333333333333333333333333333333333333333333333333333)",
	} with input as object.union(good, {
		"approvals": [good.approvals[0]],
		"rejected": [{
			"kind": "approval",
			"referrer": "sha256:3333333333333333333333333333333333333333333333333333333333333333",
			"code": "CUSTODY-E1009", "reason": "approval is for another artifact",
		}],
	})
}

test_stale_provenance_is_denied if {
	prod.deny == {"provenance is 31 days old, older than the 30-day limit"} with input as object.union(good, {"provenance": provenance_with({"finishedUnix": now - (31 * day) - 5})})
}

test_provenance_without_finish_time_is_denied if {
	prod.deny == {"provenance has no finish time: cannot judge its age"} with input as object.union(good, {"provenance": provenance_with({"finishedUnix": null})})
}

test_missing_clock_is_denied if {
	prod.deny == {"input has no nowUnix: cannot judge the provenance's age"} with input as object.remove(good, {"nowUnix"})
}

test_rejected_signature_is_reported if {
	prod.deny == {"signature rejected: signing key is revoked (CUSTODY-E1008, referrer sha256:4444444444444444444444444444444444444444444444444444444444444444)"} with input as object.union(good, {"rejected": [{
		"kind": "signature",
		"referrer": "sha256:4444444444444444444444444444444444444444444444444444444444444444",
		"code": "CUSTODY-E1008", "reason": "signing key is revoked",
	}]})
}

test_everything_wrong_gives_every_reason if {
	bad := object.union(good, {
		"provenance": [],
		"rebuilds": [],
		"vulnerabilities": {"scanned": false, "findings": []},
		"approvals": [],
	})
	prod.deny == {
		"no verified provenance: nothing attests how the artifact was built",
		"reproduced by 0 independent rebuilder(s), 2 required",
		"not scanned for known vulnerabilities",
		"approved by 0 of 2 required release-team members",
	} with input as bad
}
