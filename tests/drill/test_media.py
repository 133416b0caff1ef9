"""The drill's media step against moto over HTTP: restored references sampled, backup copies HEADed.

Sync-mode backups are made by the real ``media sync`` (a seeded source bucket, server-side
copies, a real ``records/media-sync`` index); replicate-mode copies are put where S3 replication
puts them (the source key, in the backup bucket: moto stores replication rules but never copies).
Round-trip ZIPs are real-format snapshots from ``tests/support/snapshots``.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deedbox.bucket.records import write_record
from deedbox.config.model import DrillMedia, MediaBackup, MediaReference
from deedbox.convex.snapshot import summarize
from deedbox.drill.media import (
    FOUND,
    MISMATCHED,
    MISSING,
    OUTSIDE,
    UNRECORDED,
    MediaOutcome,
    ReferenceResult,
    Reservoir,
    check_media,
    document_keys,
    key_of,
    storage_count,
    verdict,
)
from deedbox.media.sync import sync_media
from tests.support.snapshots import StoredFile, Table, build_snapshot, community_tables, make_id

SRC = "guild-media-prod"
SEED = "drill-20261127T020000Z"
COURSES, EVENTS = 10004, 10006


# --------------------------------------------------------------------------- helpers
def _cfg(config, mode: str, refs: list[tuple[str, str, str]], *, sample: int = 20):
    media = DrillMedia(tuple(MediaReference(*r) for r in refs), sample)
    return replace(config, backups=replace(config.backups, media=MediaBackup(mode=mode, rpo_hours=24)),
                   drills=replace(config.drills, media=media))


def _docs(number: int, rows: list[dict], seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    return [{"_id": make_id(number, rng.randbytes(16)), "_creationTime": 1.7e12 + i, **row}
            for i, row in enumerate(rows)]


def _zip(tmp_path: Path, tables: list[Table], *, files: int = 0, name: str = "roundtrip.zip") -> Path:
    rng = random.Random(5)
    stored = [StoredFile(make_id(8, rng.randbytes(16)), f"file {i}".encode()) for i in range(files)]
    path = tmp_path / name
    build_snapshot(str(path), tables, files=stored)
    return path


def _courses(keys: list) -> Table:
    return Table("courses", COURSES, _docs(COURSES, [{"slug": f"c{i}", "videoKey": k} for i, k in enumerate(keys)]))


def _seed_source(aws, keys: list[str]) -> None:
    s3 = aws.client("s3", "us-east-1")
    s3.create_bucket(Bucket=SRC)
    for key in keys:
        s3.put_object(Bucket=SRC, Key=key, Body=f"bytes of {key}".encode(), ContentType="video/mp4")


def _put_backup(store, key: str, body: bytes) -> None:
    """A raw write into the backup bucket (what replication, or tampering, does)."""
    store.s3.put_object(Bucket=store.bucket, Key=key, Body=body, ChecksumAlgorithm="SHA256")


MANIFEST = {"storage": {"count": 0, "bytes": 0}}
VIDEOS = [f"courses/{i}.mp4" for i in range(6)]


# --------------------------------------------------------------------------- sync mode
@pytest.fixture
def synced(config, store, aws):
    """A sync-mode backup of six course videos and a recording, made by `media sync`."""
    cfg = _cfg(config, "sync", [("courses", "videoKey", "video"), ("events", "recording.key", "recordings")])
    _seed_source(aws, [*VIDEOS, "recordings/2026/live.webm", "uploads/cover.png"])
    record = sync_media(cfg, store)
    assert record["ok"] and record["index"]
    return cfg


def _courses_events(tmp_path: Path, videos=VIDEOS, *, files: int = 0) -> Path:
    events = Table("events", EVENTS, _docs(EVENTS, [{"recording": {"key": "recordings/2026/live.webm"}},
                                                    {"recording": None}, {"title": "no recording"}]))
    return _zip(tmp_path, [_courses(list(videos)), events], files=files)


def test_sync_every_sampled_reference_present_is_ok(synced, store, tmp_path):
    out = check_media(synced, store, _courses_events(tmp_path), MANIFEST, seed=SEED)
    courses, events = out.references
    assert (courses.documents, courses.references, courses.sampled, courses.found) == (6, 6, 6, 6)
    assert (events.documents, events.references, events.without_reference, events.found) == (3, 1, 2, 1)
    assert courses.ok and events.ok and out.ok and out.mode == "sync"
    assert out.summary() == "7 sampled media objects in the backup (ETags as recorded); _storage: 0 files as in the manifest"


def test_sync_deleted_backup_copy_is_missing_by_name(synced, store, tmp_path):
    store.s3.delete_object(Bucket=store.bucket, Key="media/video/courses/3.mp4")  # a delete marker
    out = check_media(synced, store, _courses_events(tmp_path), MANIFEST, seed=SEED)
    courses = out.references[0]
    assert courses.missing == ["courses/3.mp4"] and courses.missing_count == 1
    assert courses.found == 5 and not courses.ok and not out.ok and out.references[1].ok
    assert out.summary() == "courses.videoKey: 1 of 6 sampled not in the backup: courses/3.mp4"


def test_sync_overwritten_backup_copy_is_mismatched(synced, store, tmp_path):
    _put_backup(store, "media/video/courses/2.mp4", b"other bytes entirely")  # a new current version
    out = check_media(synced, store, _courses_events(tmp_path), MANIFEST, seed=SEED)
    courses = out.references[0]
    assert courses.mismatched == ["courses/2.mp4"] and courses.found == 6 and courses.missing == []
    assert not out.ok
    assert "1 of 6 sampled ETag differs from the one recorded when copied: courses/2.mp4" in out.summary()


def test_sync_copy_no_record_vouches_for_is_unrecorded(synced, store, tmp_path):
    _put_backup(store, "media/video/courses/extra.mp4", b"put by hand")
    out = check_media(synced, store, _courses_events(tmp_path, [*VIDEOS, "courses/extra.mp4"]), MANIFEST, seed=SEED)
    courses = out.references[0]
    assert courses.unrecorded == ["courses/extra.mp4"] and courses.found == 7 and not courses.ok
    assert "1 of 7 sampled in the backup but in no media-sync record: courses/extra.mp4" in out.summary()


def test_sync_compares_with_the_recorded_destination_etag(synced, store, tmp_path):
    """Under SSE-KMS a copy's ETag is not the source's: the index's second ETag is the one to match."""
    current = store.head("media/video/courses/1.mp4").etag
    later = datetime.now(UTC) + timedelta(hours=1)
    write_record(store, "media-sync", {"mode": "sync", "ok": True, "index": {
        "media/video/courses/1.mp4": ["a-source-etag", current],
        "media/video/courses/2.mp4": [store.head("media/video/courses/2.mp4").etag, "another-copy-etag"]}},
        later)
    out = check_media(synced, store, _zip(tmp_path, [_courses(["courses/1.mp4", "courses/2.mp4"])]),
                      MANIFEST, seed=SEED)
    assert out.references[0].mismatched == ["courses/2.mp4"] and out.references[0].found == 2


def test_reference_outside_the_class_prefix(synced, store, tmp_path):
    # uploads/cover.png is backed up (as an image), but a course video must be under courses/
    out = check_media(synced, store, _courses_events(tmp_path, ["courses/1.mp4", "uploads/cover.png"]),
                      MANIFEST, seed=SEED)
    courses = out.references[0]
    assert courses.outside_prefix == ["uploads/cover.png"] and courses.missing == [] and courses.found == 1
    assert out.summary() == ("courses.videoKey: 1 of 2 sampled not in class video's prefix (courses/): "
                             "uploads/cover.png")


def test_missing_table_is_a_finding(synced, store, tmp_path):
    roundtrip = _zip(tmp_path, [_courses(VIDEOS)])  # no events table
    out = check_media(synced, store, roundtrip, MANIFEST, seed=SEED)
    assert out.references[0].ok
    assert out.references[1].problem == "table events is not in the restored data"
    assert out.summary() == "events.recording.key: table events is not in the restored data"


def test_url_and_list_valued_fields(config, store, aws, tmp_path):
    cfg = _cfg(config, "sync", [("courses", "coverUrl", "images"), ("courses", "gallery", "images"),
                                ("courses", "chapters.video", "video")])
    _seed_source(aws, ["uploads/a b.png", "uploads/b.png", "uploads/c.png", "courses/1.mp4", "courses/2.mp4"])
    sync_media(cfg, store)
    rows = [{"coverUrl": "https://cdn.guild.example/uploads/a%20b.png?sig=x", "gallery": ["uploads/b.png", "uploads/c.png"],
             "chapters": [{"video": "courses/1.mp4"}, {"video": "s3://guild-media-prod/courses/2.mp4"}]},
            {"coverUrl": None, "gallery": [], "chapters": [{"video": "courses/gone.mp4"}]}]
    roundtrip = _zip(tmp_path, [Table("courses", COURSES, _docs(COURSES, rows))])
    cover, gallery, chapters = check_media(cfg, store, roundtrip, MANIFEST, seed=SEED).references
    assert (cover.references, cover.found, cover.without_reference, cover.ok) == (1, 1, 1, True)
    assert (gallery.references, gallery.found, gallery.ok) == (2, 2, True)
    assert (chapters.references, chapters.found, chapters.missing) == (3, 2, ["courses/gone.mp4"])


def test_values_that_are_no_key_fail_the_entry(config, store, aws, tmp_path):
    cfg = _cfg(config, "sync", [("courses", "videoKey", "video")])
    roundtrip = _zip(tmp_path, [_courses([42, {"key": "courses/1.mp4"}, None])])
    result = check_media(cfg, store, roundtrip, MANIFEST, seed=SEED).references[0]
    assert (result.unusable, result.references, result.sampled, result.ok) == (2, 0, 0, False)
    assert result.findings() == ["values neither an object key, a list of keys nor a URL: 2"]


def test_class_not_backed_up(config, store, tmp_path):
    cfg = _cfg(config, "sync", [("courses", "videoKey", "video")])
    cfg = replace(cfg, backups=replace(cfg.backups, media=MediaBackup(mode="sync", rpo_hours=24, classes=("images",))))
    result = check_media(cfg, store, _zip(tmp_path, [_courses(VIDEOS)]), MANIFEST, seed=SEED).references[0]
    assert result.problem == "media class video is not backed up (backups.media)"


# --------------------------------------------------------------------------- _storage
def test_storage_count_equal(config, store, tmp_path):
    roundtrip = _zip(tmp_path, [_courses([])], files=3)
    manifest = summarize(_zip(tmp_path, [_courses([])], files=3, name="source.zip")).to_dict()
    out = check_media(_cfg(config, "sync", []), store, roundtrip, manifest, seed=SEED)
    assert (out.storage_expected, out.storage_restored, out.ok) == (3, 3, True)
    assert out.summary() == "no media references configured; _storage: 3 files as in the manifest"
    assert out.to_dict()["storage"] == {"expected": 3, "restored": 3, "ok": True}


def test_storage_count_different(config, store, tmp_path):
    out = check_media(_cfg(config, "sync", []), store, _zip(tmp_path, [_courses([])], files=2),
                      {"storage": {"count": 3, "bytes": 30}}, seed=SEED)
    assert (out.storage_expected, out.storage_restored, out.ok) == (3, 2, False)
    assert out.summary() == "_storage: 2 files restored, the manifest has 3"


def test_storage_count_taken_from_the_round_trip_summary_when_given(config, store, tmp_path):
    out = check_media(_cfg(config, "sync", []), store, _zip(tmp_path, [_courses([])], files=2),
                      MANIFEST, seed=SEED, roundtrip_snapshot={"storage": {"count": 0, "bytes": 0}})
    assert (out.storage_restored, out.ok) == (0, True)


# --------------------------------------------------------------------------- replicate mode
def test_replicate_mode_looks_under_the_source_key(config, store, tmp_path):
    cfg = _cfg(config, "replicate", [("courses", "videoKey", "video")])
    _put_backup(store, "courses/1.mp4", b"replicated")  # where S3 replication puts it
    _put_backup(store, "media/video/courses/2.mp4", b"sync layout")  # not where replicate mode looks
    _put_backup(store, "courses/3.mp4", b"v1")
    _put_backup(store, "courses/3.mp4", b"v2")  # a newer version: replicate mode records no ETags
    out = check_media(cfg, store, _zip(tmp_path, [_courses(["courses/1.mp4", "courses/2.mp4", "courses/3.mp4"])]),
                      MANIFEST, seed=SEED)
    result = out.references[0]
    assert (result.found, result.missing, result.mismatched) == (2, ["courses/2.mp4"], [])
    assert out.mode == "replicate" and not out.ok


def test_replicate_mode_all_present_is_ok(config, store, tmp_path):
    cfg = _cfg(config, "replicate", [("courses", "videoKey", "video")])
    for key in VIDEOS:
        _put_backup(store, key, key.encode())
    out = check_media(cfg, store, _zip(tmp_path, [_courses(VIDEOS)]), MANIFEST, seed=SEED)
    assert out.ok and out.references[0].found == 6
    assert out.summary().startswith("6 sampled media objects in the backup; ")


# --------------------------------------------------------------------------- sampling
def test_sample_is_bounded_and_deterministic_for_a_seed(config, store, tmp_path):
    cfg = _cfg(config, "replicate", [("courses", "videoKey", "video")], sample=7)
    roundtrip = _zip(tmp_path, [_courses([f"courses/{i:03}.mp4" for i in range(200)])])  # none backed up
    first, again = (check_media(cfg, store, roundtrip, MANIFEST, seed=SEED).references[0] for _ in range(2))
    other = check_media(cfg, store, roundtrip, MANIFEST, seed="drill-other").references[0]
    assert (first.references, first.sampled, first.missing_count, len(first.missing)) == (200, 7, 7, 7)
    assert first.missing == again.missing
    assert other.missing != first.missing
    assert "(+" not in first.findings()[0]


def test_missing_keys_listed_are_capped(config, store, tmp_path):
    cfg = _cfg(config, "replicate", [("courses", "videoKey", "video")], sample=30)
    roundtrip = _zip(tmp_path, [_courses([f"courses/{i:03}.mp4" for i in range(50)])])
    result = check_media(cfg, store, roundtrip, MANIFEST, seed=SEED).references[0]
    assert (result.sampled, result.missing_count, len(result.missing)) == (30, 30, 10)
    assert result.findings()[0].endswith("(+20 more)")


def test_one_object_sampled_twice_is_checked_once(config, store, tmp_path):
    cfg = _cfg(config, "replicate", [("courses", "videoKey", "video")])
    roundtrip = _zip(tmp_path, [_courses(["courses/intro.mp4"] * 4 + ["courses/gone.mp4"] * 2)])
    result = check_media(cfg, store, roundtrip, MANIFEST, seed=SEED).references[0]
    assert (result.references, result.sampled, result.missing_count) == (6, 2, 2)
    assert result.findings() == ["2 of 2 sampled not in the backup: courses/gone.mp4, courses/intro.mp4"]


def test_reservoir_is_bounded_deterministic_and_spread():
    def sample(seed: str, n: int = 10_000, size: int = 20) -> list[str]:
        r = Reservoir(size, seed)
        for i in range(n):
            r.add(f"{i:05}")
        assert r.seen == n
        return r.items

    a = sample("s")
    assert len(a) == 20 and a == sample("s") and a != sample("t")
    assert sum(k >= "05000" for k in a) >= 5 and sum(k < "05000" for k in a) >= 5  # not the first 20
    assert sample("s", n=3) == ["00000", "00001", "00002"]


# --------------------------------------------------------------------------- pure parts
@pytest.mark.parametrize(("doc", "path", "expected"), [
    ({"videoKey": "courses/a.mp4"}, "videoKey", (["courses/a.mp4"], 0)),
    ({"recording": {"key": "recordings/x.webm"}}, "recording.key", (["recordings/x.webm"], 0)),
    ({"recording": None}, "recording.key", ([], 0)),
    ({"title": "t"}, "recording.key", ([], 0)),
    ({"recording": "recordings/x.webm"}, "recording.key", ([], 1)),  # a scalar where an object belongs
    ({"g": ["uploads/a.png", None, "", "uploads/b.png", 3]}, "g", (["uploads/a.png", "uploads/b.png"], 1)),
    ({"parts": [{"v": "a"}, {"v": ["b", "c"]}, {}]}, "parts.v", (["a", "b", "c"], 0)),
    ({"v": {"$bytes": "AAAA"}}, "v", ([], 1)),
    ({"v": "https://cdn.example/uploads/a%20b.png?x=1#f"}, "v", (["uploads/a b.png"], 0)),
    ({"v": "https://cdn.example/"}, "v", ([], 1)),  # a URL naming no object
])
def test_document_keys(doc, path, expected):
    assert document_keys(doc, path) == expected


def test_key_of():
    assert key_of("HTTPS://media.example.com/courses/x.mp4") == "courses/x.mp4"
    assert key_of("s3://guild-media-prod/recordings/2026/a.webm") == "recordings/2026/a.webm"
    assert key_of("recordings/2026:01.webm") == "recordings/2026:01.webm"  # a colon is no scheme
    assert key_of(7) is None


@pytest.mark.parametrize(("key", "mode", "stored", "recorded", "expected"), [
    ("uploads/a.png", "sync", "e1", "e1", OUTSIDE),
    ("courses/a.mp4", "sync", None, "e1", MISSING),
    ("courses/a.mp4", "sync", "e1", "e1", FOUND),
    ("courses/a.mp4", "sync", "e2", "e1", MISMATCHED),
    ("courses/a.mp4", "sync", "e1", None, UNRECORDED),
    ("courses/a.mp4", "replicate", "e2", None, FOUND),
    ("courses/a.mp4", "replicate", None, None, MISSING),
])
def test_verdict(key, mode, stored, recorded, expected):
    assert verdict(key, prefix="courses/", mode=mode, stored_etag=stored, recorded_etag=recorded) == expected


def test_storage_count():
    assert storage_count({"storage": {"count": 4, "bytes": 9}}) == 4
    assert storage_count({}) is None
    assert storage_count({"storage": {"count": True}}) is None


def test_outcome_verdict_and_dict():
    good = ReferenceResult("courses", "videoKey", "video", 3, 3, 3, 3, [], [])
    assert MediaOutcome([good], 1, 1, "sync").ok
    assert not MediaOutcome([good], None, 0, "sync").ok  # no count in the manifest proves nothing
    assert MediaOutcome([good], None, 0).summary() == "_storage: 0 files restored, the manifest records none"
    doc = MediaOutcome([good], 1, 1, "sync").to_dict()
    assert doc["ok"] and doc["references"][0]["ok"] and doc["references"][0]["table"] == "courses"


def test_community_dataset_lessons_point_at_backed_up_videos(config, store, aws, tmp_path):
    """The fixture platform's own shape: lessons.video.key under courses/, synced by `media sync`."""
    tables = community_tables(60)
    lessons = next(t for t in tables if t.name == "lessons")
    keys = sorted({d["video"]["key"] for d in lessons.docs})
    cfg = _cfg(config, "sync", [("lessons", "video.key", "video"), ("events", "recordingKey", "recordings")])
    _seed_source(aws, keys)
    sync_media(cfg, store)
    roundtrip = _zip(tmp_path, tables)
    out = check_media(cfg, store, roundtrip, summarize(roundtrip).to_dict(), seed=SEED)
    lesson_refs, event_refs = out.references
    assert lesson_refs.found == lesson_refs.sampled == len(keys) > 0
    assert event_refs.references == 0 and event_refs.without_reference == event_refs.documents > 0
    assert out.ok, out.summary()
