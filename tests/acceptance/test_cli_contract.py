"""The CLI contract of DESIGN.md ("The CLI contract"), checked from outside through the console
script: commands and options exist, exit codes 0/1/2, JSON shapes, one-line errors, no traceback."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from deedbox.policy import RULES
from tests.acceptance._graph import REPO, record_program
from tests.acceptance.conftest import DEEDBOX, clean_env, deedbox, help_text, make_bucket, prefetch_help

ENV = clean_env()
REFERENCE = (REPO / "backup.yaml").read_text()

# DESIGN.md (and README.md for --yes/--backfill): command -> options it must take.
CONTRACT = {
    "validate": ["--config", "--format"],
    "plan": ["--config", "--base", "--format"],
    "export": ["--config", "--from-zip", "--reason", "--bucket"],
    "verify": ["--config", "--snapshot", "--read-data", "--bucket"],
    "media sync": ["--config", "--backfill", "--bucket"],
    "media verify": ["--config", "--class", "--sample", "--format", "--bucket"],
    "secrets push": ["--config", "--env-file", "--from"],
    "secrets verify": ["--config", "--env-file", "--from"],
    "secrets restore": ["--config", "--to", "--keys", "--snapshot", "--key-env", "--yes"],
    "status": ["--config", "--format", "--bucket"],
    "restore record": ["--config", "--table", "--id", "--snapshot", "--apply"],
    "restore full": ["--config", "--snapshot", "--to", "--yes", "--no-secrets"],
    "restore media": ["--config", "--class", "--prefix", "--as-of", "--to", "--overwrite-newer", "--yes", "--job",
                      "--format", "--bucket"],
    "drill run": ["--config"],
    "drill list": ["--config"],
    "drill reap": ["--config"],
    "workflows": ["--config"],
    "notify test": ["--config", "--format"],
}


def help_options(command: str) -> set[str]:
    code, text = help_text(tuple(command.split()))
    assert code == 0, command
    return set(re.findall(r"(--[a-z][a-z-]*)", text))


def test_command_exists_with_its_options():
    prefetch_help(tuple(c.split()) for c in CONTRACT)
    missing = {c: sorted(set(CONTRACT[c]) - help_options(c)) for c in CONTRACT}
    assert not {c: m for c, m in missing.items() if m}


@pytest.mark.parametrize("command, values", [
    ("validate", ["text", "json", "github"]), ("plan", ["text", "json", "markdown"]),
    ("status", ["json"]), ("export", ["json"]), ("verify", ["json"]),
])
def test_format_values(command, values):
    code, text = help_text(tuple(command.split()))
    for v in values:
        assert v in text


def test_export_reasons_are_the_documented_four(tmp_path):
    code, text = help_text(("export",))
    for reason in ("scheduled", "pre-change", "manual", "safety"):
        assert reason in text
    bad = deedbox(ENV, "export", "--reason", "whenever", "--from-zip", str(tmp_path / "x.zip"), "--bucket", "bucket-x")
    assert bad.returncode == 2


# ---------------------------------------------------------------- validate

def test_validate_reference_config_json_shape():
    done = deedbox(ENV, "validate", "--format", "json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"valid", "errors", "warnings"}
    assert out == {"valid": True, "errors": [], "warnings": []}


def write_variant(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    assert old in REFERENCE
    text = REFERENCE.replace(old, new, 1)
    path = tmp_path / "backup.yaml"
    path.write_text(text)
    line = REFERENCE[: REFERENCE.index(old)].count("\n") + 1
    return path, line


def test_validate_error_json_shape_and_position(tmp_path):
    # off-platform rule: the destination account must differ from the source account
    path, line = write_variant(tmp_path, 'account: "222222222222"', 'account: "111111111111"')
    done = deedbox(ENV, "validate", "--config", str(path), "--format", "json")
    assert done.returncode == 1
    out = json.loads(done.stdout)
    assert set(out) == {"valid", "errors", "warnings"} and out["valid"] is False
    assert out["errors"]
    for e in out["errors"]:
        assert set(e) == {"line", "column", "path", "rule", "message"}
        assert isinstance(e["line"], int) and isinstance(e["column"], int)
        assert isinstance(e["path"], str) and isinstance(e["rule"], str) and e["message"]
    assert any(e["line"] == line and "destination" in e["path"] for e in out["errors"]), out


def test_validate_text_and_github_formats(tmp_path):
    path, line = write_variant(tmp_path, 'account: "222222222222"', 'account: "111111111111"')
    text = deedbox(ENV, "validate", "--config", str(path))
    assert text.returncode == 1
    assert re.search(rf"backup\.yaml:{line}:\d+: error \[[^\]]+\] ", text.stdout)
    gh = deedbox(ENV, "validate", "--config", str(path), "--format", "github")
    assert gh.returncode == 1
    assert re.search(rf"^::error file=[^,]*backup\.yaml,line={line},col=\d+[^:]*::.+", gh.stdout, re.M), gh.stdout


def test_secret_value_in_config_is_refused_without_echo(tmp_path):
    value = "sk_live_" + "Zq8" * 12
    path, line = write_variant(tmp_path, "deploy_key: {env: CONVEX_DEPLOY_KEY}", f"deploy_key: {value}")
    for fmt in ("text", "json", "github"):
        done = deedbox(ENV, "validate", "--config", str(path), "--format", fmt)
        assert done.returncode == 1
        assert value not in done.stdout + done.stderr
        assert value[8:20] not in done.stdout + done.stderr


def test_duplicate_key_is_an_error(tmp_path):
    path, line = write_variant(tmp_path, "  ttl_hours: 4\n", "  ttl_hours: 4\n  ttl_hours: 5\n")
    out = json.loads(deedbox(ENV, "validate", "--config", str(path), "--format", "json").stdout)
    assert not out["valid"] and any(e["line"] == line + 1 for e in out["errors"]), out


# ---------------------------------------------------------------- plan

@pytest.fixture(scope="module")
def plan_json() -> dict:
    done = deedbox(ENV, "plan", "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_plan_json_shape(plan_json):
    assert set(plan_json) == {"resources", "policy"}  # no diff without --base
    assert plan_json["resources"]
    for r in plan_json["resources"]:
        assert set(r) == {"type", "name", "parent", "provider", "protect", "inputs"}
        assert isinstance(r["protect"], bool) and isinstance(r["inputs"], dict)
    for p in plan_json["policy"]:
        assert set(p) == {"policy", "level", "status", "resource", "message"}
        assert p["status"] in ("pass", "fail") and p["level"] in ("mandatory", "advisory", "disabled")
    assert {p["policy"] for p in plan_json["policy"]} >= {r.id for r in RULES}


def test_plan_resources_match_an_independent_recording(plan_json):
    # the plan shows both programs: the backup stack and the platform account's (infra/source/)
    ours = record_program(REPO / "infra", {"deedbox:config": "backup.yaml"}) + record_program(
        REPO / "infra" / "source", {"deedbox-source:config": "backup.yaml"})
    expected = {(r["type"], r["name"]) for r in ours if r["type"] != "pulumi:pulumi:Stack"}
    assert {(r["type"], r["name"]) for r in plan_json["resources"]} == expected
    protected = {r["name"] for r in ours if r["protect"]}
    assert {r["name"] for r in plan_json["resources"] if r["protect"]} == protected


def test_plan_never_shows_a_secret_value():
    done = subprocess.run([DEEDBOX, "plan", "--format", "json"], cwd=REPO, capture_output=True,
                          text=True, env={**ENV, "STRIPE_SECRET_KEY": "sk_live_PLANLEAK0123456789", "SESSION_SECRET": "PLANLEAKsession"})
    assert done.returncode == 0 and "PLANLEAK" not in done.stdout + done.stderr


def test_plan_markdown_has_mermaid():
    done = deedbox(ENV, "plan", "--format", "markdown")
    assert done.returncode == 0 and "```mermaid" in done.stdout


def test_plan_base_diff(tmp_path):
    repo = tmp_path / "r"
    repo.mkdir()
    shutil.copy(REPO / "backup.yaml", repo / "backup.yaml")
    git = ["git", "-c", "user.email=a@example.com", "-c", "user.name=acceptance", "-C", str(repo)]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(git + ["add", "backup.yaml"], check=True)
    subprocess.run(git + ["commit", "-qm", "base"], check=True)
    edited = REFERENCE.replace("recovery_window_days: 30", "recovery_window_days: 14")
    edited = edited.replace("      - RESEND_API_KEY\n", "")
    (repo / "backup.yaml").write_text(edited)
    done = deedbox(ENV, "plan", "--config", "backup.yaml", "--base", "HEAD", "--format", "json", cwd=repo)
    assert done.returncode == 0, done.stderr
    diff = json.loads(done.stdout)["diff"]
    assert set(diff) == {"added", "removed", "changed"}
    assert "guild-vault-RESEND_API_KEY" in {r["name"] for r in diff["removed"]}
    assert not diff["added"]
    changed = {r["name"] for r in diff["changed"]}
    assert "guild-vault-SESSION_SECRET" in changed


def test_plan_base_unknown_ref_is_usage_error():
    done = deedbox(ENV, "plan", "--base", "no-such-ref-acceptance", "--format", "json")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------- bad inputs

OPS = ["validate", "plan", "export --from-zip x.zip --bucket bucket-x", "verify --bucket bucket-x",
       "media sync --bucket bucket-x", "secrets push --env-file e.env", "secrets verify --env-file e.env",
       "status --bucket bucket-x", "restore record --table posts --id x --bucket bucket-x",
       "restore full --snapshot latest --to https://x.convex.cloud --bucket bucket-x",
       "drill run --bucket bucket-x", "drill list --bucket bucket-x", "drill reap --bucket bucket-x",
       "workflows --output wf"]


def one_line_error(done) -> bool:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return len(lines) == 1


@pytest.fixture(scope="module")
def garbage(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    (d / "garbage.yaml").write_text("version: [1,\n  name: {{\n")
    (d / "binary.yaml").write_bytes(bytes(range(256)) * 3)
    (d / "list.yaml").write_text("- 1\n- 2\n")
    (d / "adir").mkdir()
    return {"missing": d / "nope.yaml", "directory": d / "adir", "garbage": d / "garbage.yaml",
            "binary": d / "binary.yaml", "list": d / "list.yaml"}


SOME = [OPS[0], OPS[1], OPS[2], OPS[9]]  # validate, plan, export, restore full
KINDS = {"missing": ({2}, OPS), "directory": ({2}, SOME), "garbage": ({1, 2}, SOME),
         "binary": ({1, 2}, SOME[:3]), "list": ({1}, SOME[:2])}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_bad_config_is_one_line_and_a_contract_code(kind, garbage, tmp_path):
    codes, commands = KINDS[kind]

    def run(command: str):
        done = deedbox({**ENV, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, *command.split(),
                       "--config", str(garbage[kind]), cwd=tmp_path)
        if done.returncode not in codes:
            return f"{command}: exit {done.returncode}: {done.stderr.strip()[:200]}"
        if command.startswith(("validate", "plan")) and done.returncode == 1:
            return None  # a list of config errors, one line each
        if not one_line_error(done):
            return f"{command}: not one line: {done.stderr[:300]}"
        return None

    with ThreadPoolExecutor(4) as pool:
        problems = [p for p in pool.map(run, commands) if p]
    assert not problems


@pytest.mark.parametrize("command", ["plan", "status --bucket bucket-x"])
def test_directory_config_message_says_directory(command, garbage, tmp_path):
    done = deedbox(ENV, *command.split(), "--config", str(garbage["directory"]), cwd=tmp_path)
    assert done.returncode == 2 and "directory" in done.stderr


def test_export_without_bucket_or_stack_is_usage_error(tmp_path):
    done = deedbox({**ENV, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "PATH": "/usr/bin:/bin"},
                   "export", "--from-zip", str(tmp_path / "x.zip"))
    assert done.returncode == 2 and one_line_error(done), done.stderr
    assert "bucket" in done.stderr


def test_verify_nonexistent_snapshot(moto_env, s3):
    bucket = make_bucket(moto_env, s3, "acceptance-cli-verify")
    done = deedbox(moto_env, "verify", "--bucket", bucket, "--snapshot", "nonexistent")
    assert done.returncode in (1, 2) and one_line_error(done), done.stderr
    latest = deedbox(moto_env, "verify", "--bucket", bucket)  # an empty bucket has no snapshot
    assert latest.returncode in (1, 2) and one_line_error(latest), latest.stderr


def test_verify_missing_bucket_is_environment_error(moto_env):
    done = deedbox(moto_env, "verify", "--bucket", "acceptance-no-such-bucket")
    assert done.returncode == 2 and one_line_error(done)


def test_status_of_an_empty_bucket_is_stale(moto_env, s3):
    bucket = make_bucket(moto_env, s3, "acceptance-cli-status")
    done = deedbox(moto_env, "status", "--bucket", bucket, "--format", "json")
    assert done.returncode == 1, done.stderr
    json.loads(done.stdout)


def test_secrets_verify_missing_env_file(moto_env, tmp_path):
    done = deedbox(moto_env, "secrets", "verify", "--env-file", str(tmp_path / "missing.env"))
    assert done.returncode == 2 and one_line_error(done), done.stderr


def test_secrets_bad_env_file_never_echoes_a_value(moto_env, tmp_path):
    env_file = tmp_path / "live.env"
    env_file.write_text('STRIPE_SECRET_KEY="sk_live_ECHOCHECK0123456789\nthis line sk_live_ECHO2\n')
    for sub in ("push", "verify"):
        done = deedbox(moto_env, "secrets", sub, "--env-file", str(env_file))
        assert done.returncode == 2 and "ECHO" not in done.stdout + done.stderr


def test_restore_full_without_to_is_usage_error():
    done = deedbox(ENV, "restore", "full", "--snapshot", "latest")
    assert done.returncode == 2 and "--to" in done.stderr


@pytest.mark.parametrize("args", [["restore", "full", "--snapshot", "latest"], ["validate", "--format", "xml"]])
def test_usage_errors_are_one_line(args):
    done = deedbox(ENV, *args)
    assert done.returncode == 2 and one_line_error(done), done.stderr


def test_workflows_writes_files(tmp_path):
    done = deedbox(ENV, "workflows", "--output", str(tmp_path / "wf"))
    assert done.returncode == 0, done.stderr
    files = sorted(p.name for p in (tmp_path / "wf").iterdir())
    assert files
    for f in (tmp_path / "wf").iterdir():
        doc = yaml.safe_load(f.read_text())
        assert "jobs" in doc and ("on" in doc or True in doc)
