# Unit tests of the staging policy: lighter than production.
package custody.env.staging_test

import data.custody.env.prod_test
import data.custody.env.staging

# The production test fixture, approved once, built from the release branch, not rebuilt.
release := object.union(prod_test.good, {
	"provenance": prod_test.provenance_with({"sourceRef": "refs/heads/release", "finishedUnix": prod_test.now - (90 * prod_test.day)}),
	"rebuilds": [],
	"approvals": [prod_test.good.approvals[0]],
})

test_release_branch_without_rebuilds_is_allowed if {
	count(staging.deny) == 0 with input as release
}

test_feature_branch_is_denied if {
	staging.deny == {"provenance built from ref refs/heads/feature, not refs/heads/main or refs/heads/release"} with input as object.union(release, {"provenance": prod_test.provenance_with({"sourceRef": "refs/heads/feature"})})
}

test_unapproved_is_denied if {
	staging.deny == {"approved by 0 of 1 required release-team members"} with input as object.union(release, {"approvals": []})
}

test_critical_vulnerability_is_denied if {
	staging.deny == {"critical vulnerabilities: RUSTSEC-2026-0007"} with input as object.union(release, {"vulnerabilities": {"scanned": true, "findings": [{"id": "RUSTSEC-2026-0007", "package": "foo", "version": "1.0.0", "severity": "critical"}]}})
}

test_rejected_approval_is_reported if {
	staging.deny == {"approval rejected: approval is for environment prod (CUSTODY-E1009, referrer sha256:5555555555555555555555555555555555555555555555555555555555555555)"} with input as object.union(release, {"rejected": [{
		"kind": "approval",
		"referrer": "sha256:5555555555555555555555555555555555555555555555555555555555555555",
		"code": "CUSTODY-E1009", "reason": "approval is for environment prod",
	}]})
}
