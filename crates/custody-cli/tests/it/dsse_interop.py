"""securesystemslib side of the DSSE interop test (run by tests/it/interop.rs).

  verify ENVELOPE.json PUB.pem KEYID   securesystemslib verifies a custody-made envelope
  sign   PRIVATE.pem ARTIFACT OUT.json securesystemslib signs an in-toto statement about ARTIFACT
"""

import hashlib
import json
import sys

from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner, SSlibKey


def verify(envelope_path, pub_path, keyid):
    with open(envelope_path, "rb") as f:
        doc = json.load(f)
    # A custody bundle carries the envelope under dsseEnvelope; a bare envelope is the document.
    envelope = Envelope.from_dict(doc.get("dsseEnvelope", doc))
    with open(pub_path, "rb") as f:
        key = SSlibKey.from_crypto(load_pem_public_key(f.read()), keyid=keyid)
    # DSSE keyids are hints; securesystemslib matches them, so the key carries custody's keyid.
    accepted = envelope.verify([key], 1)
    assert keyid in accepted, accepted
    print("securesystemslib: verified")


def sign(private_path, artifact_path, out_path):
    with open(private_path, "rb") as f:
        private = load_pem_private_key(f.read(), password=None)
    with open(artifact_path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "artifact", "digest": {"sha256": digest}}],
        "predicateType": "https://example.com/securesystemslib-made/v1",
        "predicate": {"producer": "securesystemslib"},
    }
    envelope = Envelope(
        payload=json.dumps(statement).encode(),
        payload_type="application/vnd.in-toto+json",
        signatures={},
    )
    envelope.sign(CryptoSigner(private))
    with open(out_path, "w") as f:
        json.dump(envelope.to_dict(), f)
    print("securesystemslib: signed")


if __name__ == "__main__":
    {"verify": verify, "sign": sign}[sys.argv[1]](*sys.argv[2:])
