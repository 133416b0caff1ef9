"""deedbox doctor against moto over HTTP and the Convex test server: a prepared setup passes, then
one broken prerequisite at a time fails with its own line; the pure decisions moto cannot reach."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from deedbox.cli import app
from deedbox.config import load
from deedbox.config.model import Runner
from deedbox.doctor import buckets, checks
from deedbox.doctor.report import FAIL, OK, SKIP, WARN, Check, Refused, document, lines
from tests.support.canary import ALL as CANARIES
from tests.support.canary import DEPLOY_KEY
from tests.support.canary import SECRET as CANARY
from tests.support.convex_server import ConvexTestServer
from tests.support.moto_server import MotoEndpoint, make_backup_bucket

ACCOUNT = "123456789012"  # moto's account: the destination account of the test config
OIDC_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
MEDIA, BUCKET = "guild-media-prod", "guild-backups"
KEYS = ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "SESSION_SECRET", "CONVEX_DEPLOY_KEY", "RESEND_API_KEY"]
IDS = ["aws.credentials", "media.bucket", "media.versioning", "media.replication", "oidc.provider",
       "backup.bucket", "backup.versioning", "backup.object_lock", "backup.encryption", "backup.public_access",
       "convex.key", "convex.deployment", *(f"vault.{k}" for k in KEYS), "alarm.backend", "alarm.media", "alarm.drill"]
# the dead-man's switch alarms that notify: plain for snapshots and media records, composite for monthly drills
ALARMS = {"alarm.backend": "guild-deedbox-no-snapshot", "alarm.media": "guild-deedbox-no-media-record",
          "alarm.drill": "guild-deedbox-drill-overdue"}


@dataclass
class Setup:
    aws: MotoEndpoint
    convex: ConvexTestServer
    config: Path  # the reference backup.yaml, destination in moto's account, Convex at the test server

    def s3(self, region: str = "us-east-1"):
        return self.aws.client("s3", region)

    def rewrite(self, old: str, new: str) -> None:
        text = self.config.read_text()
        assert old in text
        self.config.write_text(text.replace(old, new))


def write_config(path: Path, reference: Path, convex_url: str) -> Path:
    text = (reference.read_text().replace("222222222222", ACCOUNT)
            .replace("https://happy-otter-123.convex.cloud", convex_url))
    assert "take_over_replication: true" in text  # the reference opts in to owning the media replication
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def alarm_records(reference_config_path):
    """The alarms of the reference topology, as the program declares them."""
    from deedbox.plan.engine import record
    from deedbox.topology import program

    graph = record(lambda: program(load(reference_config_path)))
    return graph.of_type("aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm")


def create_alarms(aws, records) -> None:
    """PutMetricAlarm over HTTP, each request built from the recorded inputs; moto's server does not route
    PutCompositeAlarm, so the composite goes into its (in-process) backend as its own handler would put it."""
    from botocore import xform_name
    from moto.cloudwatch.models import cloudwatch_backends

    from tests.topology.requests import calls

    for r in records:
        (call,) = calls(r)
        if call.operation == "PutMetricAlarm":
            getattr(aws.client("cloudwatch"), xform_name(call.operation))(**call.params)
            continue
        p = call.params
        cloudwatch_backends[ACCOUNT]["eu-west-1"].put_metric_alarm(
            name=p["AlarmName"], namespace=None, metric_name=None, comparison_operator=None, evaluation_periods=None,
            period=None, threshold=None, statistic=None, description=p.get("AlarmDescription"), dimensions=[],
            alarm_actions=p.get("AlarmActions", []), ok_actions=p.get("OKActions", []), rule=p["AlarmRule"])


@pytest.fixture
def setup(aws, tmp_path, reference_config_path, monkeypatch, alarm_records):
    """Everything a first `pulumi up` and the first jobs need, as the topology would leave it."""
    monkeypatch.setenv("CONVEX_DEPLOY_KEY", DEPLOY_KEY)
    s3 = aws.client("s3", "us-east-1")
    s3.create_bucket(Bucket=MEDIA)
    s3.put_bucket_versioning(Bucket=MEDIA, VersioningConfiguration={"Status": "Enabled"})
    make_backup_bucket(aws, BUCKET, mode="COMPLIANCE", retention_days=35)
    aws.client("iam").create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com", ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"])
    sm = aws.client("secretsmanager")
    kms = aws.client("kms").create_key()["KeyMetadata"]["KeyId"]
    for key in KEYS:
        sm.create_secret(Name=f"deedbox/guild/{key}", KmsKeyId=kms, AddReplicaRegions=[{"Region": "eu-central-1"}],
                         SecretString=CANARY if key == "STRIPE_SECRET_KEY" else f"value-of-{key}")
    create_alarms(aws, alarm_records)
    with ConvexTestServer(admin_key=DEPLOY_KEY) as srv:
        yield Setup(aws, srv, write_config(tmp_path / "backup.yaml", reference_config_path, srv.url))


def doctor(setup: Setup, *extra: str, fmt: str = "json", bucket: str | None = BUCKET):
    args = ["doctor", "--config", str(setup.config), "--format", fmt, *(["--bucket", bucket] if bucket else []), *extra]
    res = CliRunner().invoke(app, args)
    for secret in (*CANARIES, DEPLOY_KEY):
        assert secret not in res.output and secret not in (res.stderr or ""), "a secret reached the output"
    return res


def drop_secret(setup: Setup, key: str) -> None:
    """Delete a secret for good (Secrets Manager first wants its replicas removed)."""
    sm, name = setup.aws.client("secretsmanager"), f"deedbox/guild/{key}"
    sm.remove_regions_from_replication(SecretId=name, RemoveReplicaRegions=["eu-central-1"])
    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def by_id(res) -> dict[str, dict]:
    return {c["id"]: c for c in json.loads(res.stdout)["checks"]}


def failing(res) -> dict[str, dict]:
    return {i: c for i, c in by_id(res).items() if c["status"] == FAIL}


# --------------------------------------------------------------------------- the prepared setup

def test_prepared_setup_passes_every_check(setup):
    res = doctor(setup)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["ok"] is True and set(doc) == {"ok", "checks"}
    assert [c["id"] for c in doc["checks"]] == IDS
    assert {c["id"]: c["status"] for c in doc["checks"]} == dict.fromkeys(IDS, OK)
    checks_ = by_id(res)
    assert "default retention COMPLIANCE 35 days" in checks_["backup.object_lock"]["message"]
    assert "SSE-KMS (aws:kms) with key " in checks_["backup.encryption"]["message"]
    assert "replica eu-central-1 InSync" in checks_["vault.SESSION_SECRET"]["message"]
    assert checks_["convex.deployment"]["message"].endswith("(no export yet)")
    assert setup.convex.paths() == ["/api/query"]  # one read-only call


def test_json_shape(setup):
    setup.s3().put_bucket_versioning(Bucket=MEDIA, VersioningConfiguration={"Status": "Suspended"})
    doc = json.loads(doctor(setup).stdout)
    assert doc["ok"] is False
    for check in doc["checks"]:
        assert set(check) == {"id", "status", "message", "fix"}
        assert check["status"] in {"ok", "fail", "warn", "skip"}
        assert isinstance(check["message"], str) and check["message"]
        assert (check["fix"] is not None) if check["status"] == FAIL else True


def test_text_is_one_line_per_check_and_a_verdict(setup):
    res = doctor(setup, fmt="text")
    assert res.exit_code == 0
    out = res.stdout.splitlines()
    assert len(out) == len(IDS) + 1 and out[-1] == f"doctor: ok ({len(IDS)} checks)"
    assert all(line.split()[0] == "ok" for line in out[:-1])
    drop_secret(setup, "SESSION_SECRET")
    res = doctor(setup, fmt="text")
    assert res.exit_code == 1
    line = next(x for x in res.stdout.splitlines() if "vault.SESSION_SECRET" in x)
    assert line.startswith("FAIL") and "deedbox/guild/SESSION_SECRET does not exist; fix: run `pulumi up`" in line
    assert res.stdout.splitlines()[-1] == f"doctor: 1 of {len(IDS)} checks failed"


# --------------------------------------------------------------------------- the media bucket

def test_unversioned_media_bucket_fails_in_replicate_mode(setup):
    setup.s3().put_bucket_versioning(Bucket=MEDIA, VersioningConfiguration={"Status": "Suspended"})
    res = doctor(setup)
    assert res.exit_code == 1
    check = failing(res)["media.versioning"]
    assert check["message"] == "versioning is Suspended: S3 refuses PutBucketReplication on a bucket without versioning"
    assert check["fix"] == f"aws s3api put-bucket-versioning --bucket {MEDIA} --versioning-configuration Status=Enabled"
    assert set(failing(res)) == {"media.versioning"}


def test_unversioned_media_bucket_only_warns_in_sync_mode(setup):
    setup.s3().put_bucket_versioning(Bucket=MEDIA, VersioningConfiguration={"Status": "Suspended"})
    setup.rewrite("mode: replicate", "mode: sync\n    schedule: rate(1 hour)")
    res = doctor(setup)
    assert res.exit_code == 0, res.output
    assert by_id(res)["media.versioning"]["status"] == WARN


def test_missing_media_bucket_fails_and_skips_the_rest(setup):
    setup.s3().delete_bucket(Bucket=MEDIA)
    res = doctor(setup)
    assert res.exit_code == 1
    assert failing(res)["media.bucket"]["message"] == f"s3://{MEDIA} does not exist"
    assert by_id(res)["media.versioning"]["status"] == by_id(res)["media.replication"]["status"] == SKIP


def _put_replication(setup, role: str) -> None:
    setup.s3().put_bucket_replication(Bucket=MEDIA, ReplicationConfiguration={"Role": role, "Rules": [{
        "ID": "platform-dr", "Status": "Enabled", "Priority": 1, "Filter": {"Prefix": "uploads/"},
        "DeleteMarkerReplication": {"Status": "Disabled"},
        "Destination": {"Bucket": "arn:aws:s3:::platform-dr-copy"}}]})


def test_foreign_replication_configuration_fails_without_the_opt_in(setup):
    _put_replication(setup, "arn:aws:iam::111111111111:role/platform-dr")
    setup.rewrite("take_over_replication: true", "take_over_replication: false")
    res = doctor(setup)
    assert res.exit_code == 1
    check = failing(res)["media.replication"]
    assert check["message"].startswith("an existing replication configuration not created by deedbox would be "
                                       "replaced by deedbox's (a bucket has exactly one): 1 rule (platform-dr: ")
    assert "-> arn:aws:s3:::platform-dr-copy, Enabled), role arn:aws:iam::111111111111:role/platform-dr" \
        in check["message"]
    assert check["fix"].startswith("set source.media.take_over_replication: true")


def test_foreign_replication_configuration_with_the_opt_in_warns(setup):
    _put_replication(setup, "arn:aws:iam::111111111111:role/platform-dr")
    res = doctor(setup)
    assert res.exit_code == 0
    check = by_id(res)["media.replication"]
    assert check["status"] == WARN and "replaced by deedbox's on `pulumi up` of infra/source" in check["message"]


def test_deedboxs_own_replication_configuration_is_ok(setup):
    _put_replication(setup, "arn:aws:iam::111111111111:role/guild-deedbox-media-replication")
    res = doctor(setup)
    assert res.exit_code == 0
    assert by_id(res)["media.replication"]["message"].startswith("deedbox's: 1 rule (platform-dr: ")


def test_replicate_mode_without_the_opt_in_fails_even_with_no_configuration(setup):
    setup.rewrite("take_over_replication: true", "take_over_replication: false")
    check = failing(doctor(setup))["media.replication"]
    assert check["message"] == ("no replication configuration yet, but the source program refuses to apply "
                                "without source.media.take_over_replication: true")


# --------------------------------------------------------------------------- GitHub OIDC provider

def _delete_provider(setup):
    setup.aws.client("iam").delete_open_id_connect_provider(OpenIDConnectProviderArn=OIDC_ARN)


def test_no_oidc_provider_fails_the_runner_role_trusts_it(setup):
    _delete_provider(setup)
    res = doctor(setup)
    assert res.exit_code == 1
    check = failing(res)["oidc.provider"]
    assert check["message"] == (f"{OIDC_ARN} does not exist: the runner role trusts it and `pulumi up` "
                                "does not create it")
    assert "create-open-id-connect-provider" in check["fix"] and "runner.create_oidc_provider: true" in check["fix"]


def test_configured_oidc_provider_that_does_not_exist_fails(setup):
    other = f"arn:aws:iam::{ACCOUNT}:oidc-provider/ghe.example.com/token"
    setup.rewrite("  branch: main\n", f"  branch: main\n  oidc_provider_arn: {other}\n")
    check = failing(doctor(setup))["oidc.provider"]
    assert check["message"].startswith(f"{other} (runner.oidc_provider_arn) does not exist")


def test_create_oidc_provider_needs_it_absent(setup):
    setup.rewrite("  branch: main\n", "  branch: main\n  create_oidc_provider: true\n")
    check = failing(doctor(setup))["oidc.provider"]
    assert "EntityAlreadyExists" in check["message"] and check["fix"].startswith("remove runner.create_oidc_provider")
    _delete_provider(setup)
    res = doctor(setup)
    assert res.exit_code == 0
    assert by_id(res)["oidc.provider"]["message"] == (
        f"no GitHub OIDC provider yet: `pulumi up` creates {OIDC_ARN} (runner.create_oidc_provider)")


def test_provider_without_the_sts_audience_fails(setup):
    _delete_provider(setup)  # moto has no RemoveClientIDFromOpenIDConnectProvider: make it anew
    setup.aws.client("iam").create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com", ClientIDList=["example-audience"],
        ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"])
    check = failing(doctor(setup))["oidc.provider"]
    assert "(example-audience) lack sts.amazonaws.com" in check["message"]
    assert "--client-id sts.amazonaws.com" in check["fix"]


# --------------------------------------------------------------------------- the backup bucket

def test_backup_bucket_without_lock_fails(setup):
    make_backup_bucket(setup.aws, "guild-backups-plain", locked=False)
    res = doctor(setup, bucket="guild-backups-plain")
    assert res.exit_code == 1
    failed = failing(res)
    assert set(failed) == {"backup.versioning", "backup.object_lock", "backup.encryption"}
    assert failed["backup.object_lock"]["message"] == "object lock is not enabled: whoever can write a backup can delete it"
    assert "put-object-lock-configuration --bucket guild-backups-plain" in failed["backup.object_lock"]["fix"]
    assert "Mode=COMPLIANCE,Days=35" in failed["backup.object_lock"]["fix"]
    assert failed["backup.encryption"]["message"] == "default encryption is not configured, not SSE-KMS"


def test_backup_retention_must_match_immutability(setup):
    make_backup_bucket(setup.aws, "guild-backups-gov", mode="GOVERNANCE", retention_days=7)
    check = failing(doctor(setup, bucket="guild-backups-gov"))["backup.object_lock"]
    assert check["message"] == "default retention is GOVERNANCE 7 days, destination.immutability is COMPLIANCE 35 days"


def test_backup_encryption_and_public_access_block(setup):
    s3 = setup.s3("eu-west-1")
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False, "RestrictPublicBuckets": True})
    failed = failing(doctor(setup))
    assert failed["backup.encryption"]["message"] == "default encryption is AES256, not SSE-KMS"
    assert failed["backup.public_access"]["message"] == "public access block: BlockPublicPolicy not on"
    assert "BlockPublicPolicy=true" in failed["backup.public_access"]["fix"]


def test_backup_bucket_that_does_not_exist(setup):
    res = doctor(setup, bucket="no-such-backups")
    assert failing(res)["backup.bucket"]["message"] == "s3://no-such-backups (--bucket / DEEDBOX_BUCKET) does not exist"
    assert [by_id(res)[i]["status"] for i in buckets.BACKUP_IDS[1:]] == [SKIP] * 4


def test_backup_bucket_from_the_stack_output_else_the_topology_name(setup, tmp_path, monkeypatch):
    output = tmp_path / "out.json"
    output.write_text(json.dumps({"deedbox": {"bucket": BUCKET}}))
    monkeypatch.setenv("DEEDBOX_STACK_OUTPUT", str(output))
    res = doctor(setup, bucket=None)
    assert res.exit_code == 0, res.output
    assert by_id(res)["backup.bucket"]["message"] == f"s3://{BUCKET} exists (the stack's deedbox output)"
    monkeypatch.delenv("DEEDBOX_STACK_OUTPUT")
    monkeypatch.setattr("deedbox.bucket.locate.shutil.which", lambda name: None)  # no pulumi CLI either
    check = failing(doctor(setup, bucket=None))["backup.bucket"]
    assert check["message"] == (f"s3://guild-backup-{ACCOUNT}-eu-west-1 (the name the topology gives it) "
                                "does not exist")


# --------------------------------------------------------------------------- Convex

def test_wrong_convex_key_fails_naming_the_variable(setup, monkeypatch):
    wrong = "prod:happy-otter-123|not-the-key-5a4b3c"
    monkeypatch.setenv("CONVEX_DEPLOY_KEY", wrong)
    res = doctor(setup)
    assert res.exit_code == 1
    check = failing(res)["convex.deployment"]
    assert check["message"].startswith(f"{setup.convex.url} refused the key in CONVEX_DEPLOY_KEY: Convex 401 BadAdminKey")
    assert "CONVEX_DEPLOY_KEY" in check["fix"] and "not-the-key" not in res.output


def test_unset_convex_key_fails(setup, monkeypatch):
    monkeypatch.delenv("CONVEX_DEPLOY_KEY")
    res = doctor(setup)
    assert res.exit_code == 1
    assert failing(res)["convex.key"]["message"] == (
        "environment variable CONVEX_DEPLOY_KEY is not set (source.convex.deploy_key)")
    assert by_id(res)["convex.deployment"]["status"] == SKIP
    assert setup.convex.paths() == []


def test_key_of_another_deployment_is_not_sent(setup, monkeypatch):
    monkeypatch.setenv("CONVEX_DEPLOY_KEY", "prod:other-animal-456|x")
    setup.rewrite(setup.convex.url, "https://happy-otter-123.convex.cloud")
    check = failing(doctor(setup))["convex.deployment"]
    assert "belongs to deployment other-animal-456" in check["message"]
    assert setup.convex.paths() == []


# --------------------------------------------------------------------------- the vault

def test_missing_secret_fails(setup):
    drop_secret(setup, "SESSION_SECRET")
    res = doctor(setup)
    assert res.exit_code == 1 and set(failing(res)) == {"vault.SESSION_SECRET"}
    assert failing(res)["vault.SESSION_SECRET"]["message"] == "deedbox/guild/SESSION_SECRET does not exist"


def test_secret_without_its_replica_or_being_deleted_fails(setup):
    sm = setup.aws.client("secretsmanager")
    sm.remove_regions_from_replication(SecretId="deedbox/guild/RESEND_API_KEY", RemoveReplicaRegions=["eu-central-1"])
    sm.remove_regions_from_replication(SecretId="deedbox/guild/STRIPE_WEBHOOK_SECRET",
                                       RemoveReplicaRegions=["eu-central-1"])
    sm.delete_secret(SecretId="deedbox/guild/STRIPE_WEBHOOK_SECRET", RecoveryWindowInDays=7)
    failed = failing(doctor(setup))
    assert failed["vault.RESEND_API_KEY"]["message"] == (
        "deedbox/guild/RESEND_API_KEY has no replica in eu-central-1 (destination.replica.region)")
    assert failed["vault.STRIPE_WEBHOOK_SECRET"]["message"] == "deedbox/guild/STRIPE_WEBHOOK_SECRET is scheduled for deletion"


def test_secret_without_a_value_warns(setup):
    drop_secret(setup, "SESSION_SECRET")
    setup.aws.client("secretsmanager").create_secret(Name="deedbox/guild/SESSION_SECRET", AddReplicaRegions=[{"Region": "eu-central-1"}])
    res = doctor(setup)
    assert res.exit_code == 0
    assert by_id(res)["vault.SESSION_SECRET"]["status"] == WARN


# --------------------------------------------------------------------------- the environment (exit 2)

def test_no_config_file_is_exit_2(aws, tmp_path):
    res = CliRunner().invoke(app, ["doctor", "--config", str(tmp_path / "missing.yaml")])
    assert res.exit_code == 2 and res.stdout == ""
    assert len(res.stderr.strip().splitlines()) == 1 and res.stderr.startswith("deedbox: error: ")


def test_no_credentials_is_exit_2(setup, monkeypatch, tmp_path):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # it caches the credentials it found before
    res = doctor(setup)
    assert res.exit_code == 2 and res.stdout == ""
    assert res.stderr.strip() == ("deedbox: error: no AWS credentials: configure boto3's standard chain "
                                  "(AWS_PROFILE, AWS_ACCESS_KEY_ID, an instance or OIDC role) to run doctor")


# --------------------------------------------------------------------------- pure decisions moto cannot reach

@pytest.fixture
def cfg(reference_config_path):
    return load(reference_config_path)


def _with_media(cfg, media):
    return replace(cfg, source=replace(cfg.source, media=media))


FOREIGN = {"ReplicationConfiguration": {"Role": "arn:aws:iam::111111111111:role/theirs", "Rules": [
    {"ID": "r", "Status": "Enabled", "Filter": {"Prefix": "uploads/"}, "Destination": {"Bucket": "arn:aws:s3:::x"}}]}}
OWN = {"ReplicationConfiguration": {**FOREIGN["ReplicationConfiguration"],
                                    "Role": "arn:aws:iam::111111111111:role/guild-deedbox-media-replication"}}


@pytest.mark.parametrize("take_over, answer, status", [
    (False, None, FAIL), (False, FOREIGN, FAIL), (False, OWN, FAIL),
    (True, None, OK), (True, FOREIGN, WARN), (True, OWN, OK)])
def test_replication_decisions_in_replicate_mode(cfg, take_over, answer, status):
    check = buckets.media_replication(_with_media(cfg, replace(cfg.source.media, take_over_replication=take_over)),
                                      answer)
    assert check.status == status
    if answer is not None:
        assert "1 rule (r: uploads/ -> arn:aws:s3:::x, Enabled), role arn:aws:iam::111111111111:role/" in check.message
    if status == FAIL:
        assert check.fix and "take_over_replication: true" in check.fix


def test_replication_in_sync_mode_is_reported_never_replaced(cfg):
    sync = replace(cfg, backups=replace(cfg.backups, media=replace(cfg.backups.media, mode="sync")))
    assert buckets.media_replication(sync, FOREIGN).message.startswith("left as it is (sync mode): 1 rule")
    assert buckets.media_replication(sync, None).status == OK


def test_media_skips(cfg):
    assert buckets.media_skip(cfg) is None
    assert "another S3 API" in buckets.media_skip(_with_media(cfg, replace(
        cfg.source.media, bucket=None, endpoint_url="https://r2.example")))
    assert buckets.media_skip(_with_media(cfg, None)).startswith("no media backed up")


def test_unreadable_settings_fail_with_the_permission(cfg):
    check = buckets.media_versioning(MEDIA, "replicate", Refused("AccessDenied"))
    assert check == Check("media.versioning", FAIL, f"cannot read versioning of s3://{MEDIA} (AccessDenied)",
                          "run with credentials allowed s3:GetBucketVersioning")
    head = buckets.media_checks(cfg, {"head_bucket": Refused("AccessDenied")})
    assert head[0].status == FAIL and "not reachable with these credentials (AccessDenied)" in head[0].message
    assert checks.oidc_check(cfg, Refused("AccessDenied")).fix == (
        "run with credentials allowed iam:GetOpenIDConnectProvider")


def test_retention_in_years_and_the_aws_managed_key(cfg):
    years = {"ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled",
                                         "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 1}}}}
    assert buckets.backup_lock(cfg, BUCKET, years).message == (
        "default retention is COMPLIANCE 1 years, destination.immutability is COMPLIANCE 35 days")
    managed = {"ServerSideEncryptionConfiguration": {"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]}}
    assert buckets.backup_encryption(BUCKET, managed).status == FAIL


@pytest.mark.parametrize("status, verdict", [("Failed", FAIL), ("InProgress", WARN), ("InSync", OK)])
def test_secret_replication_status(cfg, status, verdict):
    answer = {"Name": "deedbox/guild/X", "VersionIdsToStages": {"v": ["AWSCURRENT"]},
              "ReplicationStatus": [{"Region": "eu-central-1", "Status": status, "StatusMessage": "KMS key disabled"}]}
    check = checks.secret_check(cfg, "X", "deedbox/guild/X", answer)
    assert check.status == verdict
    if verdict == FAIL:
        assert "replication Failed (eu-central-1: KMS key disabled)" in check.message and check.fix


def test_credentials_of_another_account_warn(cfg):
    check = checks.credentials({"Account": ACCOUNT, "Arn": "arn:aws:sts::123456789012:assumed-role/x"}, "222222222222")
    assert check.status == WARN and "destination.account is 222222222222" in check.message


def test_no_runner_no_oidc_check(cfg):
    assert checks.oidc_check(replace(cfg, runner=Runner(kind="none")), None).status == SKIP


def test_report_document_and_lines():
    found = [Check("a", OK, "fine"), Check("bb", WARN, "hm"), Check("c", FAIL, "broken", "mend it")]
    assert document(found) == {"ok": False, "checks": [c.to_dict() for c in found]}
    assert lines(found) == ["ok    a   fine", "warn  bb  hm", "FAIL  c   broken; fix: mend it",
                            "doctor: 1 of 3 checks failed, 1 warning"]
    assert document(found[:2])["ok"] is True


def test_lock_without_default_retention_fails(setup):
    s3 = setup.s3("eu-west-1")
    s3.create_bucket(Bucket="guild-backups-nodefault", ObjectLockEnabledForBucket=True,
                     CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    check = failing(doctor(setup, bucket="guild-backups-nodefault"))["backup.object_lock"]
    assert check["message"] == ("object lock has no default retention: new snapshots are not locked "
                                "(destination.immutability: COMPLIANCE 35 days)")


def test_convex_404_names_the_url(setup):
    setup.convex.fail_next("/api/query", status=404)
    check = failing(doctor(setup))["convex.deployment"]
    assert check["message"].startswith("Convex 404") and check["fix"].startswith("check source.convex.url")


@pytest.mark.parametrize("kind", ["not_found", "failed", "environment"])
def test_convex_failures_each_have_a_fix(kind):
    facts = checks.ConvexFacts("CONVEX_DEPLOY_KEY", "https://x.convex.cloud", True, error_kind=kind, error="boom")
    key, reach = checks.convex_checks(facts)
    assert key.status == OK and reach.status == FAIL and reach.message == "boom" and reach.fix


@pytest.mark.parametrize("check", [
    lambda cfg: buckets.media_replication(cfg, Refused("AccessDenied")),
    lambda cfg: buckets.backup_checks(cfg, BUCKET, "--bucket", {"head_bucket": Refused("AccessDenied")})[0],
    lambda cfg: buckets.backup_versioning(BUCKET, Refused("AccessDenied")),
    lambda cfg: buckets.backup_lock(cfg, BUCKET, Refused("AccessDenied")),
    lambda cfg: buckets.backup_encryption(BUCKET, Refused("AccessDenied")),
    lambda cfg: buckets.backup_public_access(BUCKET, Refused("AccessDenied")),
    lambda cfg: checks.secret_check(cfg, "X", "deedbox/guild/X", Refused("AccessDenied")),
])
def test_a_refused_read_is_a_failure_with_a_fix(cfg, check):
    found = check(cfg)
    assert found.status == FAIL and "AccessDenied" in found.message and found.fix


# --------------------------------------------------------------------------- the dead-man's switch alarms

def test_each_notifying_alarm_is_one_line(setup):
    checks_ = by_id(doctor(setup))
    assert checks_["alarm.backend"]["message"] == (
        "guild-deedbox-no-snapshot: OK (a verified snapshot (backend/<deployment>/<ts>-<reason>/manifest.json, "
        "written last) arrived within 7 hours)")
    assert checks_["alarm.drill"]["message"].startswith(
        "guild-deedbox-drill-overdue: OK (a drill report (drills/<ts>/report.json, written last) arrived within "
        "6 hours of each scheduled run (cron(0 9 1 * ? *)))")


def test_an_alarm_in_alarm_fails_with_what_stopped_arriving(setup):
    setup.aws.client("cloudwatch").set_alarm_state(AlarmName="guild-deedbox-no-snapshot", StateValue="ALARM",
                                                   StateReason="no data")
    res = doctor(setup)
    assert res.exit_code == 1 and set(failing(res)) == {"alarm.backend"}
    check = failing(res)["alarm.backend"]
    assert check["message"].startswith("guild-deedbox-no-snapshot is in ALARM since ")
    assert check["message"].endswith(" UTC: a verified snapshot (backend/<deployment>/<ts>-<reason>/manifest.json, "
                                     "written last) did not arrive within 7 hours")
    assert check["fix"].startswith("see why the backend job stopped")


def test_a_composite_in_alarm_and_an_alarm_without_data(setup):
    cloudwatch = setup.aws.client("cloudwatch")
    cloudwatch.set_alarm_state(AlarmName="guild-deedbox-drill-overdue", StateValue="ALARM", StateReason="missed")
    cloudwatch.set_alarm_state(AlarmName="guild-deedbox-no-media-record", StateValue="INSUFFICIENT_DATA",
                               StateReason="new")
    res = doctor(setup)
    assert set(failing(res)) == {"alarm.drill"}
    assert "of each scheduled run (cron(0 9 1 * ? *))" in failing(res)["alarm.drill"]["message"]
    media = by_id(res)["alarm.media"]
    assert media["status"] == WARN and media["message"].startswith(
        "guild-deedbox-no-media-record is INSUFFICIENT_DATA since ")


def test_a_missing_alarm_fails_and_disabled_actions_warn(setup):
    cloudwatch = setup.aws.client("cloudwatch")
    cloudwatch.delete_alarms(AlarmNames=["guild-deedbox-no-media-record"])
    cloudwatch.disable_alarm_actions(AlarmNames=["guild-deedbox-no-snapshot"])
    res = doctor(setup)
    assert failing(res)["alarm.media"] == {
        "id": "alarm.media", "status": FAIL, "fix": "run `pulumi up` (the dead-man's switch declares it)",
        "message": "guild-deedbox-no-media-record does not exist: nothing tells you when a media-sync record "
                   "(records/media-sync/<ts>.json: the copy in sync mode, the replication check in replicate mode) "
                   "stops arriving"}
    backend = by_id(res)["alarm.backend"]
    assert backend["status"] == WARN and backend["message"] == (
        "guild-deedbox-no-snapshot is OK, but its actions are disabled: nobody would be told")
    assert backend["fix"] == "aws cloudwatch enable-alarm-actions --alarm-names guild-deedbox-no-snapshot"


def test_alarms_that_cannot_be_read_warn_with_the_permission(cfg):
    from deedbox.doctor.deadman import alarm_checks

    lines = alarm_checks(cfg, Refused("AccessDenied"))
    assert [(c.id, c.status) for c in lines] == [(i, WARN) for i in ALARMS]
    assert lines[0] == Check("alarm.backend", WARN, "cannot read alarm guild-deedbox-no-snapshot (AccessDenied)",
                             "run with credentials allowed cloudwatch:DescribeAlarms")


def test_the_alarm_names_are_the_topologys(cfg, alarm_records):
    from deedbox.doctor.deadman import watched

    declared = {r.inputs.get("name") or r.inputs.get("alarmName") for r in alarm_records}
    assert {name for _, name in watched(cfg)} == set(ALARMS.values()) <= declared
