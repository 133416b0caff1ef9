"""The restore point: what it records (metadata only) and how it is shown."""

from __future__ import annotations

from deedbox.restore.point import capture, describe, secret_versions


def test_capture_reads_versions_without_values_and_survives_an_unreadable_vault(config, store, aws):
    sm = aws.client("secretsmanager")
    version = sm.create_secret(Name="deedbox/guild/SESSION_SECRET", SecretString="s3cr3t-value")["VersionId"]
    point = capture(config, store)
    rows = {r["key"]: r for r in point["secrets"]}
    assert rows["SESSION_SECRET"]["version_id"] == version and "s3cr3t-value" not in repr(point)
    assert rows["STRIPE_SECRET_KEY"]["version_id"] is None  # not provisioned here
    assert secret_versions(point) == {"SESSION_SECRET": version}

    class Broken:
        def describe(self, name):
            from deedbox.errors import EnvironmentProblem
            raise EnvironmentProblem(f"secret {name}: AccessDeniedException")

    broken = capture(config, store, vault=Broken())  # type: ignore[arg-type]
    assert broken["secrets"] is None and "AccessDeniedException" in broken["secrets_unavailable"]


def test_describe_names_the_three_stores():
    point = {"secrets": [{"key": "A", "version_id": "v1"}, {"key": "B", "version_id": None}],
             "media": {"mode": "sync", "record": "records/media-sync/20261127T020000Z.json", "ok": True}}
    assert describe("backend/x/20261127T030000Z-scheduled/", point) == [
        "backend: snapshot backend/x/20261127T030000Z-scheduled/",
        "secrets: 1 of 2 keys pinned to their vault version at export time",
        "media: newest sync record records/media-sync/20261127T020000Z.json (ok)"]
    old = describe("s/", None)
    assert "no restore point" in old[1] and "no restore point" in old[2]
    assert secret_versions(None) == {} and secret_versions({"secrets": [{"key": 1}]}) == {}
