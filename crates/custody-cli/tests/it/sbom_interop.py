"""custody's CycloneDX SBOM against cyclonedx-python-lib's JSON schema validator.

Usage: sbom_interop.py validate SBOM.json
Exits 0 when the SBOM is valid CycloneDX 1.6 JSON (strict: no unknown properties), 1 with the
validator's errors otherwise.
"""

import sys

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator


def validate(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    validator = JsonStrictValidator(SchemaVersion.from_version("1.6"))
    errors = validator.validate_str(text, all_errors=True)
    if errors is not None:
        for error in errors:
            print(error, file=sys.stderr)
        sys.exit(1)
    print("valid")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "validate":
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    validate(sys.argv[2])
