"""Interop with the `oras` Python client: push (monolithic and chunked), pull, and attach a
referrer with `subject=`, against a custody registry.

Usage: registry_oras.py HOST TOKEN REPOSITORY. Prints one JSON line with the subject and
referrer digests; any mismatch raises.
"""

import hashlib
import json
import os
import sys

import oras.client
import oras.oci
import oras.provider


def main() -> None:
    host, token, repo = sys.argv[1], sys.argv[2], sys.argv[3]
    client = oras.client.OrasClient(hostname=host, insecure=True)
    client.login(username="ci", password=token, hostname=host)

    with open("artifact.txt", "wb") as f:
        f.write(b"an artifact pushed by oras\n" * 1000)
    with open("signature.json", "wb") as f:
        f.write(b'{"signature": "not a real one"}')

    target = f"{host}/{repo}:v1"
    response = client.push(files=["artifact.txt"], target=target)
    assert response.status_code == 201, response.text
    chunked = client.push(
        files=["artifact.txt"],
        target=f"{host}/{repo}:chunked",
        do_chunked=True,
        chunk_size=4096,
    )
    assert chunked.status_code == 201, chunked.text

    tags = client.get_tags(f"{host}/{repo}")
    assert sorted(tags) == ["chunked", "v1"], tags

    os.makedirs("pulled", exist_ok=True)
    files = client.pull(target=target, outdir="pulled")
    assert len(files) == 1, files
    with open(files[0], "rb") as got, open("artifact.txt", "rb") as want:
        assert got.read() == want.read(), "pulled bytes differ"

    manifest = client.get_manifest(target)
    subject = oras.oci.Subject.from_manifest(manifest)
    response = client.push(
        files=["signature.json"],
        target=f"{host}/{repo}:signature",
        manifest_config="signature.json:application/vnd.custody.test.signature",
        subject=subject,
    )
    assert response.status_code == 201, response.text
    assert response.headers.get("OCI-Subject") == subject.digest, response.headers
    referrer = response.headers["Docker-Content-Digest"]

    print(json.dumps({"subject": subject.digest, "referrer": referrer}))


if __name__ == "__main__":
    main()
