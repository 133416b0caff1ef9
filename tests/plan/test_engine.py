"""The recording mock engine: what it records, what it masks, and that it runs again cleanly."""

from __future__ import annotations

import gc
import logging
import os
import sys
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from deedbox.errors import ConfigError, UsageError
from deedbox.plan.engine import record
from deedbox.plan.graph import SECRET

CANARY = "canary-value-3b1f"


def _program() -> None:
    provider = aws.Provider("dest", region="eu-west-1", allowed_account_ids=["222222222222"])
    opts = pulumi.ResourceOptions(provider=provider, protect=True)
    key = aws.kms.Key("key", enable_key_rotation=True, opts=opts)
    bucket = aws.s3.Bucket("bucket", bucket="b-1", object_lock_enabled=True, opts=opts)
    aws.s3.BucketVersioning(
        "versioning", bucket=bucket.id, versioning_configuration={"status": "Enabled"},
        opts=pulumi.ResourceOptions(provider=provider, depends_on=[key]))
    aws.ssm.Parameter("param", type="SecureString", value=pulumi.Output.secret(CANARY),
                      opts=pulumi.ResourceOptions(provider=provider))
    who = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider))
    pulumi.export("bucket_arn", bucket.arn)
    pulumi.export("key_arn", key.arn)
    pulumi.export("account", who.account_id)
    pulumi.export("hidden", pulumi.Output.secret(CANARY))
    pulumi.export("config", pulumi.Config("deedbox").get("config"))


@pytest.fixture(scope="module")
def graph():
    return record(_program, config={"deedbox:config": "x.yaml"})


def test_records_every_resource_with_its_options(graph):
    by_name = {r.name: r for r in graph}
    assert sorted(by_name) == ["bucket", "dest", "key", "param", "versioning"]
    provider, bucket, versioning = by_name["dest"], by_name["bucket"], by_name["versioning"]
    assert provider.type == "pulumi:providers:aws" and provider.custom
    assert bucket.type == "aws:s3/bucket:Bucket"
    assert bucket.inputs == {"bucket": "b-1", "objectLockEnabled": True}
    assert bucket.protect and not versioning.protect
    assert bucket.provider_urn == provider.urn
    assert bucket.parent.endswith("pulumi:pulumi:Stack::deedbox-plan")
    assert set(versioning.dependencies) == {bucket.urn, by_name["key"].urn}
    assert versioning.inputs["bucket"] == "b-1"  # the apply ran: outputs echo inputs


def test_computed_outputs_follow_provider_account_and_region(graph):
    assert graph.outputs["bucket_arn"] == "arn:aws:s3:::b-1"
    assert graph.outputs["key_arn"].startswith("arn:aws:kms:eu-west-1:222222222222:key/")
    assert graph.outputs["account"] == "222222222222"
    assert graph.outputs["config"] == "x.yaml"


def test_secrets_are_masked_in_inputs_outputs_and_exports(graph):
    param = next(r for r in graph if r.name == "param")
    assert param.inputs["value"] == SECRET and param.outputs["value"] == SECRET
    assert graph.outputs["hidden"] == SECRET
    assert CANARY not in repr(graph)


def test_rerun_in_one_process_gives_the_same_graph(graph):
    again = record(_program, config={"deedbox:config": "x.yaml"})
    assert sorted(r.urn for r in again) == sorted(r.urn for r in graph)
    assert again.outputs == graph.outputs


def test_project_and_stack_name_the_urns():
    g = record(lambda: aws.Provider("p", region="us-east-1"), project="proj", stack="dev")
    assert g.resources[0].urn == "urn:pulumi:dev::proj::pulumi:pulumi:Stack$pulumi:providers:aws::p"


def _failing_program() -> None:
    provider = aws.Provider("dest", region="eu-west-1")
    aws.s3.Bucket("bucket", opts=pulumi.ResourceOptions(provider=provider))
    raise ConfigError("backup.yaml:3:1: name: bad")


def test_config_error_in_program_surfaces_unchanged_and_quietly(caplog):
    with caplog.at_level(logging.ERROR):
        with pytest.raises(ConfigError, match="backup.yaml:3:1"):
            record(_failing_program)
        gc.collect()
    assert "Task was destroyed" not in caplog.text
    assert len(record(_program).resources) == 5  # the engine is usable after a failure


def test_program_directory_runs_as_main_with_cwd_and_path_restored(tmp_path: Path):
    (tmp_path / "__main__.py").write_text(
        "import os, pulumi, pulumi_aws as aws\n"
        "aws.Provider('p', region='us-east-1')\n"
        "pulumi.export('cwd', os.getcwd())\n"
        "pulumi.export('main', __name__)\n"
    )
    cwd, path = os.getcwd(), list(sys.path)
    g = record(tmp_path)
    assert g.outputs == {"cwd": str(tmp_path.resolve()), "main": "__main__"}
    assert os.getcwd() == cwd and sys.path == path


def test_missing_program_directory_is_a_usage_error(tmp_path: Path):
    with pytest.raises(UsageError, match="no Pulumi program"):
        record(tmp_path / "nope")


def test_runs_leave_no_event_loop_or_socket_open():
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        record(_program)
        with pytest.raises(ConfigError):
            record(_failing_program)
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == []


def test_an_echoed_input_is_never_replaced_by_a_computed_attribute():
    """A provider echoes inputs as outputs; an EventTarget's `arn` is an input (where it delivers),
    so the mocks' computed `arn` for every type must not replace it."""
    def program() -> None:
        provider = aws.Provider("dest", region="eu-west-1", allowed_account_ids=["222222222222"])
        target = aws.cloudwatch.EventTarget("target", rule="r", arn="arn:aws:logs:eu-west-1:222222222222:log-group:g",
                                            opts=pulumi.ResourceOptions(provider=provider))
        pulumi.export("target_arn", target.arn)
    assert record(program).outputs["target_arn"] == "arn:aws:logs:eu-west-1:222222222222:log-group:g"
