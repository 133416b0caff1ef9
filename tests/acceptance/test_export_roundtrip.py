"""Issue 5: ``deedbox export --from-zip`` of a real-format snapshot built here (``snapshot_zip``,
from reference/convex.md alone) lands in a versioned, object-locked, SSE-KMS bucket on a moto
server over real HTTP with a manifest whose per-table counts are right; ``verify --read-data``
agrees; a flipped byte is caught. The CLI runs as a user runs it: a subprocess of the console script.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.acceptance.conftest import deedbox, make_bucket
from tests.acceptance.snapshot_zip import community


def manifests(s3, bucket: str) -> list[str]:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return sorted(k for k in keys if k.endswith("manifest.json"))


def read_manifest(s3, bucket: str, key: str) -> dict:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def export(env, zip_path: Path, bucket: str, reason: str = "manual") -> dict:
    done = deedbox(env, "export", "--from-zip", str(zip_path), "--bucket", bucket, "--reason", reason, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def tables_of(manifest: dict) -> dict[tuple[str, str], dict]:
    return {(t["component"], t["name"]): t for t in manifest["snapshot"]["tables"]}


@pytest.fixture(scope="module")
def first(moto_env, s3, tmp_path_factory):
    bucket = make_bucket(moto_env, s3, "acceptance-export")
    snap = community()
    zip_path = snap.write(tmp_path_factory.mktemp("zip") / "snapshot_happy-otter-123_1764213300000000000.zip")
    out = export(moto_env, zip_path, bucket)
    (key,) = manifests(s3, bucket)
    return {"bucket": bucket, "snap": snap, "zip": zip_path, "out": out, "key": key,
            "manifest": read_manifest(s3, bucket, key)}


def test_manifest_counts_match_what_was_generated(first):
    m = first["manifest"]
    tables = tables_of(m)
    expected = {("", t.name): len(t.documents) for t in first["snap"].tables}
    expected.update({(c, t.name): len(t.documents) for c, ts in first["snap"].components.items() for t in ts})
    assert {k: v["count"] for k, v in tables.items()} == expected
    assert tables[("", "posts")]["number"] == 10002
    assert m["snapshot"]["encoding"] == "uniform"
    assert "ratelimiter" in json.dumps(m["snapshot"]["components"])
    assert m["snapshot"]["storage"]["count"] == 1
    assert m["snapshot"]["storage"]["bytes"] == len(first["snap"].blobs[0][0])


def test_manifest_names_the_stored_object_exactly(first, s3):
    m = first["manifest"]
    obj = m["object"]
    assert first["key"].rsplit("/", 1)[0] == obj["key"].rsplit("/", 1)[0]
    assert obj["key"].startswith("backend/happy-otter-123/") and obj["key"].endswith("-manual/snapshot.zip")
    body = s3.get_object(Bucket=first["bucket"], Key=obj["key"], VersionId=obj["version_id"])["Body"].read()
    import hashlib
    assert body == first["zip"].read_bytes()
    assert obj["size"] == len(body) and obj["sha256"] == hashlib.sha256(body).hexdigest()
    assert m["reason"] == "manual" and m["deployment"] == "happy-otter-123"


def test_snapshot_is_encrypted_and_locked(first, s3):
    head = s3.head_object(Bucket=first["bucket"], Key=first["manifest"]["object"]["key"])
    assert head.get("ServerSideEncryption") == "aws:kms"
    assert head.get("ObjectLockMode") == "COMPLIANCE"


def test_manifest_written_after_the_snapshot(first, s3):
    versions = s3.list_object_versions(Bucket=first["bucket"], Prefix=first["key"].rsplit("/", 1)[0])["Versions"]
    when = {v["Key"].rsplit("/", 1)[-1]: v["LastModified"] for v in versions}
    assert when["manifest.json"] >= when["snapshot.zip"]
    assert len(versions) == 2  # nothing rewritten


def test_verify_read_data_agrees(first, moto_env):
    snapshot = first["key"].rsplit("/", 1)[0]
    for args in (["--snapshot", snapshot], ["--snapshot", "latest"], []):
        done = deedbox(moto_env, "verify", "--bucket", first["bucket"], "--read-data", *args)
        assert done.returncode == 0, (args, done.stdout, done.stderr)


def test_digests_are_stable_and_sensitive(first, moto_env, s3, tmp_path):
    bucket = make_bucket(moto_env, s3, "acceptance-digests")
    same = community()  # same data, another ZIP (other entry timestamps)
    again = export(moto_env, same.write(tmp_path / "same.zip", date_time=(2026, 1, 2, 3, 4, 6)), bucket)
    changed = community()
    changed.tables[1].documents[3]["title"] = "post 3 (edited)"
    export(moto_env, changed.write(tmp_path / "changed.zip"), bucket, reason="pre-change")
    m_same, m_changed = (read_manifest(s3, bucket, k) for k in manifests(s3, bucket))
    assert m_same["reason"] == "manual" and m_changed["reason"] == "pre-change", (again,)
    a, b, c = tables_of(first["manifest"]), tables_of(m_same), tables_of(m_changed)
    assert {k: v["digest"] for k, v in a.items()} == {k: v["digest"] for k, v in b.items()}
    assert c[("", "posts")]["digest"] != a[("", "posts")]["digest"]
    assert c[("", "posts")]["count"] == a[("", "posts")]["count"]
    assert c[("", "users")]["digest"] == a[("", "users")]["digest"]
    assert len({v["digest"] for v in a.values()}) == len(a)  # different tables, different digests


def flip(data: bytes, entry: str, zip_bytes_path: Path) -> bytes:
    """Flip one byte in the compressed data of ``entry``."""
    import zipfile
    with zipfile.ZipFile(zip_bytes_path) as z:
        info = z.getinfo(entry)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    pos = start + info.compress_size // 2
    return data[:pos] + bytes([data[pos] ^ 0x01]) + data[pos + 1:]


def test_corrupt_zip_is_refused_by_export(first, moto_env, s3, tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(flip(first["zip"].read_bytes(), "posts/documents.jsonl", first["zip"]))
    bucket = make_bucket(moto_env, s3, "acceptance-corrupt")
    done = deedbox(moto_env, "export", "--from-zip", str(bad), "--bucket", bucket, "--format", "json")
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert manifests(s3, bucket) == []
    assert len(done.stderr.strip().splitlines()) <= 1


def test_flipped_byte_stored_as_a_new_snapshot_fails_verify(first, moto_env, s3):
    """Copy the snapshot to a new folder with one byte flipped and a manifest that names the new
    object: verify --read-data must find that the data is not what the manifest says."""
    src = first["manifest"]
    data = s3.get_object(Bucket=first["bucket"], Key=src["object"]["key"], VersionId=src["object"]["version_id"])["Body"].read()
    bad = flip(data, "posts/documents.jsonl", first["zip"])
    folder = src["object"]["key"].rsplit("/", 2)[0] + "/20260101T000000Z-manual"
    put = s3.put_object(Bucket=first["bucket"], Key=f"{folder}/snapshot.zip", Body=bad, ChecksumAlgorithm="SHA256")
    manifest = json.loads(json.dumps(src))
    manifest["object"].update(key=f"{folder}/snapshot.zip", version_id=put["VersionId"],
                              s3_checksum_sha256=put.get("ChecksumSHA256", manifest["object"].get("s3_checksum_sha256")))
    manifest["timestamp"] = "20260101T000000Z"
    s3.put_object(Bucket=first["bucket"], Key=f"{folder}/manifest.json", Body=json.dumps(manifest).encode())
    done = deedbox(moto_env, "verify", "--bucket", first["bucket"], "--snapshot", folder, "--read-data")
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "sha256" in done.stdout + done.stderr


def test_tampered_new_version_of_the_stored_zip_fails_verify(first, moto_env, s3, tmp_path):
    bucket = make_bucket(moto_env, s3, "acceptance-tamper")
    export(moto_env, first["zip"], bucket)
    (key,) = manifests(s3, bucket)
    m = read_manifest(s3, bucket, key)
    s3.put_object(Bucket=bucket, Key=m["object"]["key"],
                  Body=flip(first["zip"].read_bytes(), "users/documents.jsonl", first["zip"]))
    snapshot = key.rsplit("/", 1)[0]
    done = deedbox(moto_env, "verify", "--bucket", bucket, "--snapshot", snapshot)
    assert done.returncode == 1
    assert "tampering" in done.stdout and "written 2 times" in done.stdout  # a second version of a write-once key


def test_read_data_compares_tables_not_only_bytes(first, moto_env, s3, tmp_path):
    """A valid ZIP with one post fewer, under a manifest whose object fields (size, sha256, version)
    were updated but whose table summary was not: only --read-data can see it, and must."""
    import hashlib
    fewer = community()
    fewer.tables[1].documents.pop()
    data = fewer.write(tmp_path / "fewer.zip").read_bytes()
    src = first["manifest"]
    folder = src["object"]["key"].rsplit("/", 2)[0] + "/20260102T000000Z-manual"
    put = s3.put_object(Bucket=first["bucket"], Key=f"{folder}/snapshot.zip", Body=data, ChecksumAlgorithm="SHA256")
    manifest = json.loads(json.dumps(src))
    manifest["timestamp"] = "20260102T000000Z"
    manifest["object"].update(key=f"{folder}/snapshot.zip", version_id=put["VersionId"], size=len(data),
                              sha256=hashlib.sha256(data).hexdigest(), s3_checksum_sha256=put["ChecksumSHA256"],
                              multipart=False)
    s3.put_object(Bucket=first["bucket"], Key=f"{folder}/manifest.json", Body=json.dumps(manifest).encode())
    structure = deedbox(moto_env, "verify", "--bucket", first["bucket"], "--snapshot", folder)
    assert structure.returncode == 0, (structure.stdout, structure.stderr)
    done = deedbox(moto_env, "verify", "--bucket", first["bucket"], "--snapshot", folder, "--read-data")
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "posts" in done.stdout + done.stderr


def test_restore_record_finds_the_document_exactly(first, moto_env):
    """One post back out of the stored snapshot (no --apply: nothing live is touched): the same
    document, floats still floats (0.0 not 0), ints still ints, $bytes/$float kept."""
    post = first["snap"].tables[1].documents[0]
    done = deedbox(moto_env, "restore", "record", "--table", "posts", "--id", post["_id"], "--bucket", first["bucket"],
                   "--format", "json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["applied"] is False
    line = out["line"]
    assert json.loads(line) == post
    assert '"ratio": 0.0' in line and '"likes": 0,' in line
    wrong_table = deedbox(moto_env, "restore", "record", "--table", "users", "--id", post["_id"], "--bucket", first["bucket"])
    assert wrong_table.returncode in (1, 2) and len(wrong_table.stderr.strip().splitlines()) == 1


def test_restore_record_in_a_component(first, moto_env):
    doc = first["snap"].components["ratelimiter"][0].documents[0]
    done = deedbox(moto_env, "restore", "record", "--table", "rateLimits", "--component", "ratelimiter", "--id", doc["_id"],
                   "--bucket", first["bucket"], "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(json.loads(done.stdout)["line"]) == doc


def test_restore_full_without_yes_changes_nothing(first, moto_env, s3):
    before = s3.list_object_versions(Bucket=first["bucket"]).get("Versions", [])
    done = deedbox(moto_env, "restore", "full", "--snapshot", "latest", "--to", "https://new-otter-456.convex.cloud",
                   "--bucket", first["bucket"])
    assert done.returncode == 0, done.stderr
    assert s3.list_object_versions(Bucket=first["bucket"]).get("Versions", []) == before


def test_status_after_export_backend_fresh_others_stale(first, moto_env):
    done = deedbox(moto_env, "status", "--bucket", first["bucket"], "--format", "json")
    assert done.returncode == 1  # media and secrets have no evidence yet
    assert "backend" in done.stdout


def test_legacy_and_nested_components(moto_env, s3, tmp_path):
    """Legacy value encoding (shape string in generated_schema.jsonl) and a nested component."""
    import random
    import zipfile

    from tests.acceptance.snapshot_zip import Table, document

    rng = random.Random(3)
    counters, inner = Table("counters", 10001), Table("events", 10001)
    for i in range(3):
        document(counters, rng, count=str(i * 1000), blob="AAE=", f="NaN" if i == 1 else 1.5)
    document(inner, rng, kind="x")
    path = tmp_path / "legacy.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("README.md", "Convex snapshot\n")
        z.writestr("_tables/documents.jsonl", json.dumps({"name": "counters", "id": 10001}) + "\n")
        z.writestr("counters/documents.jsonl", "".join(json.dumps(d) + "\n" for d in counters.documents))
        z.writestr("counters/generated_schema.jsonl", json.dumps(
            '{"_creationTime": normalfloat64, "_id": "<id>", "count": int64, "blob": bytes, "f": float64}') + "\n")
        for prefix in ("_components/outer/", "_components/outer/_components/inner/"):
            z.writestr(prefix + "_tables/documents.jsonl", json.dumps({"name": "events", "id": 10001}) + "\n")
        z.writestr("_components/outer/events/documents.jsonl", "")
        z.writestr("_components/outer/_components/inner/events/documents.jsonl",
                   "".join(json.dumps(d) + "\n" for d in inner.documents))
    bucket = make_bucket(moto_env, s3, "acceptance-legacy")
    export(moto_env, path, bucket)
    (key,) = manifests(s3, bucket)
    snap = read_manifest(s3, bucket, key)["snapshot"]
    assert snap["encoding"] == "legacy"
    assert {(t["component"], t["name"]): t["count"] for t in snap["tables"]} == {
        ("", "counters"): 3, ("outer", "events"): 0, ("outer/inner", "events"): 1}
    assert deedbox(moto_env, "verify", "--bucket", bucket, "--read-data").returncode == 0


@pytest.fixture(scope="module")
def damaged(first, s3):
    """Damaged folders next to the good snapshot: no manifest; bad JSON; a manifest without `object`;
    a manifest without its snapshot.zip."""
    bucket, base = first["bucket"], first["manifest"]["object"]["key"].rsplit("/", 2)[0]
    zip_bytes = first["zip"].read_bytes()
    good = json.dumps(first["manifest"]).encode()
    folders = {
        "incomplete": ("20250101T000001Z-manual", {"snapshot.zip": zip_bytes}),
        "bad-json": ("20250101T000002Z-manual", {"snapshot.zip": zip_bytes, "manifest.json": b"{not json"}),
        "no-object": ("20250101T000003Z-manual", {"snapshot.zip": zip_bytes, "manifest.json": json.dumps(
            {k: v for k, v in first["manifest"].items() if k != "object"}).encode()}),
        "no-zip": ("20250101T000004Z-manual", {"manifest.json": good}),
        "newer-incomplete": ("20991231T000000Z-scheduled", {"snapshot.zip": zip_bytes}),
    }
    for folder, files in folders.values():
        for name, body in files.items():
            s3.put_object(Bucket=bucket, Key=f"{base}/{folder}/{name}", Body=body)
    return {kind: f"{base}/{folder}" for kind, (folder, _) in folders.items()}


def verify(env, bucket, snapshot, *extra):
    return deedbox(env, "verify", "--bucket", bucket, "--snapshot", snapshot, *extra)


@pytest.mark.parametrize("kind", ["incomplete", "bad-json", "no-object"])
def test_damaged_snapshot_fails_structure_verify(first, moto_env, damaged, kind):
    done = verify(moto_env, first["bucket"], damaged[kind])
    assert done.returncode == 1, (done.stdout, done.stderr)


def test_latest_ignores_incomplete_and_damaged(first, moto_env, damaged):
    done = deedbox(moto_env, "verify", "--bucket", first["bucket"], "--snapshot", "latest")
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert first["key"].rsplit("/", 1)[0] in done.stdout  # the good one, not the newer incomplete one


def test_read_data_on_manifest_without_object_is_a_finding(first, moto_env, damaged):
    done = verify(moto_env, first["bucket"], damaged["no-object"], "--read-data")
    assert done.returncode == 1 and "unexpected error" not in done.stderr, (done.stdout, done.stderr)


def test_missing_zip_is_named(first, moto_env, damaged):
    done = verify(moto_env, first["bucket"], damaged["no-zip"])
    assert done.returncode == 1 and "no manifest" not in done.stdout + done.stderr, (done.stdout, done.stderr)
