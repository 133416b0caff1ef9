"""Version selection at a moment and the merge join with the live store: pure, on hand-built listings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deedbox.bucket.client import ObjectInfo
from deedbox.errors import StorageError
from deedbox.media.history import MISSING, NEWER, OLDER, SAME, Version, _page_entries, at, classify, pair

T = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def v(key, minutes, vid=None, *, marker=False, etag="e", size=1):
    return Version(key, vid or f"{key}@{minutes}", T + timedelta(minutes=minutes), size, etag, marker)


HISTORY = [  # S3's order: by key, newest first
    v("a", 30), v("a", 10),
    v("b", 40, marker=True), v("b", 20),
    v("c", 50),
    v("d", 25, marker=True), v("d", 5),
]


@pytest.mark.parametrize("as_of, expected", [
    (None, ["a@30", "c@50"]),  # b and d end in delete markers
    (T + timedelta(minutes=20), ["a@10", "b@20", "d@5"]),  # d is deleted only at 25; c does not exist yet
    (T + timedelta(minutes=10), ["a@10", "d@5"]),  # at exactly 10: a's version from 10 counts
    (T, []),
])
def test_at_picks_the_newest_version_not_after_as_of(as_of, expected):
    assert [x.version_id for x in at(HISTORY, as_of)] == expected


def test_a_page_merges_versions_and_markers_in_s3_order():
    when = T
    page = {"Versions": [{"Key": "k", "VersionId": "old", "LastModified": when, "Size": 1, "ETag": '"x"'},
                         {"Key": "z", "VersionId": "z1", "LastModified": when, "Size": 1, "ETag": '"y"'}],
            "DeleteMarkers": [{"Key": "k", "VersionId": "m", "LastModified": when, "IsLatest": True}]}
    assert [(e.key, e.version_id) for e in _page_entries(page)] == [("k", "m"), ("k", "old"), ("z", "z1")]


def test_out_of_order_listings_are_refused():
    with pytest.raises(StorageError, match="backup listing is out of key order at 'a'"):
        list(at([v("b", 1), v("a", 1)], None))
    live = [ObjectInfo("b", 1, T, "e"), ObjectInfo("a", 1, T, "e")]
    with pytest.raises(StorageError, match="live store listing is out of key order"):
        list(pair([v("a", 1), v("c", 1)], live, lambda k: k))


def test_pair_is_a_merge_join_on_the_live_key():
    backup = [v("media/images/uploads/a", 1), v("media/images/uploads/c", 1)]
    live = [ObjectInfo("uploads/a", 1, T, "e"), ObjectInfo("uploads/b", 1, T, "e"), ObjectInfo("uploads/d", 1, T, "e")]
    pairs = list(pair(backup, live, lambda k: k[len("media/images/"):]))
    assert [(b.key, key, o.key if o else None) for b, key, o in pairs] == [
        ("media/images/uploads/a", "uploads/a", "uploads/a"), ("media/images/uploads/c", "uploads/c", None)]


def test_classify():
    never = lambda version, live: False  # noqa: E731
    backup = v("k", 10, etag="b", size=3)
    assert classify(backup, None, same=never) == MISSING
    assert classify(backup, ObjectInfo("k", 3, T, "b"), same=never) == SAME
    assert classify(backup, ObjectInfo("k", 3, T + timedelta(minutes=5), "other"), same=never) == OLDER
    assert classify(backup, ObjectInfo("k", 3, T + timedelta(minutes=15), "other"), same=never) == NEWER
    assert classify(backup, ObjectInfo("k", 3, T + timedelta(minutes=15), "other"), same=lambda b, o: True) == SAME


def test_ahead_yields_everything_in_order_and_raises_the_producers_error():
    from deedbox.media.history import ahead

    assert list(ahead(iter(range(10_000)), depth=3)) == list(range(10_000))

    def broken():
        yield 1
        raise StorageError("listing failed")

    got = []
    with pytest.raises(StorageError, match="listing failed"):
        for item in ahead(broken()):
            got.append(item)
    assert got == [1]
