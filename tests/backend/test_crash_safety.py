"""Kill ``deedbox export`` (a real child process) with SIGKILL at many points of its run.

Whatever the moment, the bucket must never hold a manifest for a snapshot that does not verify,
folders without a manifest must be ignored by ``latest``, and the next run must succeed.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from deedbox.backend.verify import verify_snapshot
from deedbox.bucket.snapshots import list_snapshots, resolve_snapshot
from tests.support.moto_server import subprocess_env
from tests.support.snapshots import make_zip

KILLS = 15


def _export(aws, config_path: Path, bucket: str, zpath: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "deedbox.cli", "export", "--config", str(config_path), "--bucket", bucket,
           "--from-zip", str(zpath), "--reason", "scheduled", "--format", "json"]
    return subprocess.Popen(cmd, env=subprocess_env(aws), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_sigkill_anywhere_never_leaves_a_false_manifest(config, store, aws, tmp_path, reference_config_path):
    zpath = make_zip(tmp_path / "big.zip", posts=2000, pad=16000)  # ~18 MB: multipart upload
    start = time.monotonic()
    full = _export(aws, reference_config_path, store.bucket, zpath)
    out, err = full.communicate(timeout=60)
    duration = time.monotonic() - start
    assert full.returncode == 0, err.decode()

    rng = random.Random(5)
    # spread over start-up, summary, upload, read-back and manifest (and a little past the end)
    points = sorted(rng.uniform(0.3, duration * 1.15) for _ in range(KILLS))
    for delay in points:
        proc = _export(aws, reference_config_path, store.bucket, zpath)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        time.sleep(0.05)

    refs = list_snapshots(store, config.source.convex.deployment)
    complete = [r for r in refs if r.complete]
    assert len(complete) >= 1 and all(r.reason == "scheduled" for r in refs)
    for ref in complete:  # every manifest describes data that is really there and intact
        result = verify_snapshot(store, ref, read_data=False)
        assert result.ok, (ref.prefix, result.problems)
    for ref in refs:
        if not ref.complete:
            assert not store.exists(ref.manifest_key)

    time.sleep(1.1)  # a new second: the next run gets its own folder
    final = _export(aws, reference_config_path, store.bucket, zpath)
    out, err = final.communicate(timeout=60)
    assert final.returncode == 0, err.decode()
    key = json.loads(out)["key"]
    latest = resolve_snapshot(store, config, "latest")
    assert latest.snapshot_key == key
    assert verify_snapshot(store, latest, read_data=True).ok
    print(f"full run {duration:.2f}s; kills at {[round(p, 2) for p in points]}; "
          f"{len(refs)} folders, {len(complete)} complete")
