"""BucketClient against moto over HTTP: write-once, checksums, multipart composite checksum."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest
from botocore import httpchecksum

from deedbox.bucket import client as store_mod
from deedbox.bucket.client import HashingReader
from deedbox.errors import StorageError


def test_put_new_small_records_sha256_and_version(store):
    put = store.put_new("a/b.json", b"hello", content_type="application/json")
    assert put.sha256 == hashlib.sha256(b"hello").hexdigest()
    assert put.size == 5 and put.version_id
    head = store.head("a/b.json")
    assert head.checksum == base64.b64encode(hashlib.sha256(b"hello").digest()).decode()
    assert store.get_bytes("a/b.json") == b"hello"


def test_put_new_refuses_to_overwrite(store):
    store.put_new("k", b"one")
    with pytest.raises(StorageError, match="refusing to overwrite"):
        store.put_new("k", b"two")
    assert store.get_bytes("k") == b"one"


def test_if_none_match_guards_the_race(store):
    """Even when the existence check is skipped, the conditional PUT refuses (412)."""
    store.put_new("race", b"first")
    store.exists = lambda key: False  # simulate the key appearing after the HEAD
    with pytest.raises(StorageError, match="refusing to overwrite"):
        store.put_new("race", io.BytesIO(b"second"))
    with pytest.raises(StorageError, match="refusing to overwrite"):
        store.put_new("race", b"second")
    assert store.get_bytes("race") == b"first"


def test_multipart_composite_checksum_matches_s3(store, monkeypatch, tmp_path):
    part = 5 * 1024 * 1024
    monkeypatch.setattr(store_mod, "TRANSFER", store_mod.transfer_config(part, part))
    data = bytes(range(256)) * (part * 2 // 256 + 100)  # 2 full parts and a tail
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    seen = []
    put = store.put_new("big.bin", path, progress=seen.append)
    head = store.head("big.bin")
    assert put.checksum.endswith("-3")
    assert store_mod.checksums_match(head.checksum, put.checksum)  # moto omits the "-3"
    assert put.sha256 == hashlib.sha256(data).hexdigest() and sum(seen) == len(data)
    assert store.get_bytes("big.bin") == data


def test_hashing_reader_parts_are_exact():
    cfg = store_mod.TransferConfig(multipart_threshold=10, multipart_chunksize=10)
    reader = HashingReader(io.BytesIO(b"x" * 25), config=cfg)
    while reader.read(10):  # s3transfer reads each part with one read of the part size
        pass
    assert reader.size == 25 and len(reader.part_digests) == 3  # the short read closed the tail
    assert [reader.part_checksum(n) for n in (1, 3)] == [
        base64.b64encode(hashlib.sha256(p).digest()).decode() for p in (b"x" * 10, b"x" * 5)]
    assert reader.part_checksum(4) is None
    combined = hashlib.sha256(b"".join(reader.part_digests)).digest()
    assert reader.expected_checksum() == f"{base64.b64encode(combined).decode()}-3"


def test_parts_carry_the_checksum_computed_while_reading(store, tmp_path, monkeypatch):
    """botocore hashes no part again: each UploadPart already carries the SHA-256 the reader
    computed, and S3 (moto) accepts it against the bytes it received."""
    sent = {}

    def record(request, **_):  # a before-send handler that returns something replaces the response
        sent[int(request.url.split("partNumber=")[1].split("&")[0])] = request.headers.get("x-amz-checksum-sha256")

    store.s3.meta.events.register("before-send.s3.UploadPart", record)
    hashed = []
    monkeypatch.setattr(httpchecksum.Sha256Checksum, "update", lambda self, chunk: hashed.append(len(chunk)))
    data = bytes(range(256)) * (11 * 2**20 // 256)
    big = tmp_path / "big.bin"
    big.write_bytes(data)
    with big.open("rb") as fh:
        put = store._put_stream("backend/d/20261127T000000Z-manual/snapshot.zip", fh, "application/zip", {}, None,
                                store_mod.transfer_config(5 * 2**20, 5 * 2**20))
    parts = [data[i:i + 5 * 2**20] for i in range(0, len(data), 5 * 2**20)]
    assert {n: s.decode() if isinstance(s, bytes) else s for n, s in sent.items()} == {
        n: base64.b64encode(hashlib.sha256(p).digest()).decode() for n, p in enumerate(parts, 1)}
    assert hashed == []  # botocore's own SHA-256 never ran
    assert store_mod.checksums_match(store.head(put.key).checksum, put.checksum)


def test_transfer_grows_parts_past_10000():
    assert store_mod.transfer_for(1024 ** 3) is store_mod.TRANSFER
    big = store_mod.transfer_for(200 * 1024 ** 3)
    assert big.multipart_chunksize * 9999 >= 200 * 1024 ** 3 and big.multipart_chunksize % (1024 * 1024) == 0


def test_list_and_missing_bucket(store, aws):
    store.put_new("p/1", b"1")
    store.put_new("p/2", b"22")
    assert [(o.key, o.size) for o in store.list("p/")] == [("p/1", 1), ("p/2", 2)]
    from deedbox.bucket.client import BucketClient

    with pytest.raises(StorageError, match="does not exist"):
        list(BucketClient("nope-bucket").list(""))


def test_every_write_carries_if_none_match(store, tmp_path):
    """What the bucket policy's DenyUnconditionalWrites requires (s3:if-none-match not null on the
    object-creating request). moto does not evaluate bucket policy conditions, so the proof here is
    the header on the wire, for a single PUT and for the CompleteMultipartUpload of a big upload."""
    from deedbox.bucket import client as store_mod

    sent = []
    store.s3.meta.events.register("before-send.s3", lambda request, **_: sent.append(
        (request.method, request.url, request.headers.get("If-None-Match"))))
    store.put_new("records/x/one.json", b"{}")
    big = tmp_path / "big.bin"
    big.write_bytes(b"y" * (12 * 2**20))
    with big.open("rb") as fh:
        store._put_stream("backend/d/20261127T000000Z-manual/snapshot.zip", fh, "application/zip", {}, None,
                          store_mod.transfer_config(5 * 2**20, 5 * 2**20))
    puts = [s for s in sent if s[0] == "PUT" and "partNumber" not in s[1]]
    completes = [s for s in sent if s[0] == "POST" and "uploadId=" in s[1]]
    parts = [s for s in sent if s[0] == "PUT" and "partNumber" in s[1]]
    assert puts and all(s[2] == b"*" or s[2] == "*" for s in puts)
    assert completes and all(s[2] in (b"*", "*") for s in completes)
    assert parts and all(s[2] is None for s in parts)  # UploadPart cannot carry it (exempted by the policy)
