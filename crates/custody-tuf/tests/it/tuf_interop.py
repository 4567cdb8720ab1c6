"""python-tuf's ngclient against a repository that custody-tuf wrote.

Usage: tuf_interop.py REPO_DIR CACHE_DIR ROOT_JSON TARGET EXPECT

Serves REPO_DIR over loopback HTTP (metadata/ and targets/), or uses REPO_DIR as the
repository's base URL when it is an http:// URL (a running `custody serve --tuf-repo`), runs ngclient.Updater with its
trusted metadata in CACHE_DIR (kept between runs, so rollback checks apply), refreshes, and
downloads TARGET. EXPECT is either `ok:<hex of the expected content>[:<root version>]` or the
name of the exception in tuf.api.exceptions that the run must raise. Exits 0 when the outcome is
the expected one, 1 otherwise.
"""

import functools
import http.server
import os
import sys
import tempfile
import threading

from tuf.api import exceptions
from tuf.ngclient import Updater


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main():
    repo, cache, root_json, target, expect = sys.argv[1:6]
    server = None
    if repo.startswith("http://"):
        url = repo.rstrip("/")
    else:
        handler = functools.partial(QuietHandler, directory=repo)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = "http://127.0.0.1:%d" % server.server_address[1]
    os.makedirs(cache, exist_ok=True)
    with open(root_json, "rb") as f:
        bootstrap = f.read()
    outcome = None
    content = None
    updater = None
    with tempfile.TemporaryDirectory() as target_dir:
        try:
            # The bootstrap root is only used on the first run; later runs start from the cache.
            first_run = not os.path.exists(os.path.join(cache, "root.json"))
            updater = Updater(
                metadata_dir=cache,
                metadata_base_url=url + "/metadata/",
                target_base_url=url + "/targets/",
                target_dir=target_dir,
                bootstrap=bootstrap if first_run else None,
            )
            updater.refresh()
            info = updater.get_targetinfo(target)
            if info is None:
                outcome = "TargetNotFound"
            else:
                path = updater.download_target(info)
                with open(path, "rb") as f:
                    content = f.read()
                outcome = "ok"
        except exceptions.RepositoryError as e:
            outcome = type(e).__name__
            print("raised %s: %s" % (outcome, e))
        except exceptions.DownloadError as e:
            outcome = type(e).__name__
            print("raised %s: %s" % (outcome, e))
    if server is not None:
        server.shutdown()

    if expect.startswith("ok:"):
        parts = expect.split(":")
        want = bytes.fromhex(parts[1])
        if outcome != "ok" or content != want:
            print("expected success with %r, got %s %r" % (want, outcome, content))
            return 1
        if len(parts) > 2:
            version = updater._trusted_set.root.version
            if version != int(parts[2]):
                print("expected root version %s, trusted %d" % (parts[2], version))
                return 1
        return 0
    if outcome != expect:
        print("expected %s, got %s" % (expect, outcome))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
