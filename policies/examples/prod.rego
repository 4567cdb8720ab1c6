# Production: the full set of requirements. Change the parameters below to your pipeline's.
package custody.env.prod

import data.custody.lib

# Builders whose provenance we trust (the SLSA builder.id).
trusted_builders := {"https://custody.dev/builder/local@v1"}

# Our repository and the only branch production is built from.
source_repository := "git+https://example.com/app.git"

source_refs := {"refs/heads/main"}

# Independent rebuilders that must have reproduced the artifact.
minimum_rebuilders := 2

# The release team (trust-root key owners) and how many of them must approve.
release_team := {"alice@example.com", "bob@example.com", "carol@example.com"}

required_approvals := 2

# The oldest provenance production accepts, in days.
max_provenance_age_days := 30

deny contains msg if {
	some msg in lib.provenance_denials(input, trusted_builders, source_repository, source_refs)
}

deny contains msg if {
	some msg in lib.rebuild_denials(input, minimum_rebuilders)
}

deny contains msg if {
	some msg in lib.vulnerability_denials(input)
}

deny contains msg if {
	some msg in lib.approval_denials(input, release_team, required_approvals)
}

deny contains msg if {
	some msg in lib.freshness_denials(input, max_provenance_age_days)
}

deny contains msg if {
	some msg in lib.rejected_evidence_denials(input, {"signature", "provenance"})
}
