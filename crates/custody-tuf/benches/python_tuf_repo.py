"""The same repository shape with python-tuf, for comparison with benches/repo.rs.

Usage: python_tuf_repo.py N OUT_DIR. Signs N targets in 16,384 succinct bins (one Ed25519 key
per role), writes every metadata file under OUT_DIR, and prints the elapsed wall-clock seconds.
"""

import hashlib
import os
import sys
import time
from datetime import datetime, timedelta, timezone

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    SuccinctRoles,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    start = time.perf_counter()
    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)
    signers = {r: CryptoSigner.generate_ed25519() for r in ("root", "targets", "snapshot", "timestamp", "bins")}
    root = Root(expires=expires, consistent_snapshot=True)
    for role in ("root", "targets", "snapshot", "timestamp"):
        root.add_key(signers[role].public_key, role)
    succinct = SuccinctRoles([signers["bins"].public_key.keyid], 1, 14, "bins")
    targets = Targets(expires=expires)
    targets.delegations = Delegations(
        keys={signers["bins"].public_key.keyid: signers["bins"].public_key},
        roles=None,
        succinct_roles=succinct,
    )
    bins = {name: Targets(expires=expires) for name in succinct.get_roles()}
    for i in range(n):
        path = "packages/p%d/release-%d.tar.gz" % (i, i)
        digest = hashlib.sha256(i.to_bytes(8, "big")).hexdigest()
        bins[succinct.get_role_for_target(path)].targets[path] = TargetFile(1000 + i, {"sha256": digest}, path)
    ser = JSONSerializer(compact=True)

    def write(signed, signer, name):
        md = Metadata(signed)
        md.sign(signer)
        data = md.to_bytes(ser)
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        return len(data)

    write(root, signers["root"], "1.root.json")
    snapshot = Snapshot(expires=expires)
    snapshot.meta["targets.json"] = MetaFile(1, write(targets, signers["targets"], "1.targets.json"))
    for name, b in bins.items():
        snapshot.meta[name + ".json"] = MetaFile(1, write(b, signers["bins"], "1.%s.json" % name))
    length = write(snapshot, signers["snapshot"], "1.snapshot.json")
    ts = Timestamp(expires=expires, snapshot_meta=MetaFile(1, length))
    write(ts, signers["timestamp"], "timestamp.json")
    print("%.2f" % (time.perf_counter() - start))


if __name__ == "__main__":
    main()
