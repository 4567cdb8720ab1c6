"""custody's legacy in-toto v0.9 links against the in-toto reference implementation.

Usage:
  intoto_interop.py layout LAYOUT_KEY.pem STEP_KEY.pub PRODUCT OUT.layout CMD...
      Writes a layout signed with LAYOUT_KEY (an unencrypted PKCS#8 PEM written by custody):
      one step "build" by STEP_KEY running CMD, which may read any source file and must create
      exactly PRODUCT; and an inspection that checks the PRODUCT on disk is the one the step's
      link records.
  intoto_interop.py verify DIR LAYOUT LAYOUT.pub
      Runs `in-toto-verify` in DIR (links and the product are there); exits with its status.
"""

import os
import subprocess
import sys

from in_toto.models._signer import (
    load_crypto_signer_from_pkcs8_file,
    load_public_key_from_file,
)
from in_toto.models.layout import Inspection, Layout, Step
from in_toto.models.metadata import Metablock


def layout(layout_key, step_pub, product, out, command):
    functionary = load_public_key_from_file(step_pub)
    root = Layout()
    root.set_relative_expiration(days=1)
    root.add_functionary_key(functionary)
    step = Step(name="build")
    step.pubkeys = [functionary["keyid"]]
    step.threshold = 1
    step.expected_command = command
    step.expected_materials = [["ALLOW", "*"]]
    step.expected_products = [["CREATE", product], ["DISALLOW", "*"]]
    check = Inspection(name="check-product")
    check.run = ["true"]
    check.expected_materials = [
        ["MATCH", product, "WITH", "PRODUCTS", "FROM", "build"],
        ["DISALLOW", product],
        ["ALLOW", "*"],
    ]
    root.steps = [step]
    root.inspect = [check]
    metablock = Metablock(signed=root)
    metablock.create_signature(load_crypto_signer_from_pkcs8_file(layout_key))
    metablock.dump(out)


def verify(directory, layout_path, layout_pub):
    tool = os.path.join(os.path.dirname(sys.executable), "in-toto-verify")
    result = subprocess.run(
        [tool, "--layout", layout_path, "--verification-keys", layout_pub, "-v"],
        cwd=directory,
        capture_output=True,
        text=True,
    )
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    sys.exit(result.returncode)


if __name__ == "__main__":
    if len(sys.argv) >= 7 and sys.argv[1] == "layout":
        layout(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:])
    elif len(sys.argv) == 5 and sys.argv[1] == "verify":
        verify(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
