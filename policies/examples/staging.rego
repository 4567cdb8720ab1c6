# Staging: a lighter set. Built by our builder from our repository (main or a release
# branch), no critical vulnerability, one approval, and every rejected piece of evidence is
# still reported. No rebuild or age requirement.
package custody.env.staging

import data.custody.lib

trusted_builders := {"https://custody.dev/builder/local@v1"}

source_repository := "git+https://example.com/app.git"

source_refs := {"refs/heads/main", "refs/heads/release"}

release_team := {"alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"}

required_approvals := 1

deny contains msg if {
	some msg in lib.provenance_denials(input, trusted_builders, source_repository, source_refs)
}

deny contains msg if {
	some msg in lib.vulnerability_denials(input)
}

deny contains msg if {
	some msg in lib.approval_denials(input, release_team, required_approvals)
}

deny contains msg if {
	some msg in lib.rejected_evidence_denials(input, {"signature", "provenance", "approval"})
}
