"""The ``aws`` runner's CodeBuild buildspec: every scheduled job of ``deedbox.config.jobs`` (pure).

One project runs every job; each schedule starts a build with ``DEEDBOX_JOB=<job id>`` and the
build runs that job's commands, the very command lines the GitHub workflows run
(``Command.line``). No container image of ours: an AWS-managed Ubuntu standard image
(``aws/codebuild/standard:7.0``: python 3.11 and nodejs 20 among its runtimes, per
``ubuntu/standard/7.0/runtimes.yml`` of aws/aws-codebuild-docker-images). The build:

1. installs the *pinned* deedbox (``runner.pip_spec``) into ``.venv`` (where the drill project
   ``deedbox init`` writes expects it: ``infra/drill/Pulumi.yaml``'s ``virtualenv: ../../.venv``);
2. lays out the project with ``deedbox init`` and writes the reviewed backup.yaml over its
   example: the config is part of the buildspec, so the plan shows exactly what the jobs run and a
   change to backup.yaml reaches them with the next ``pulumi up``; then validates it;
3. runs the job; secrets reach it as environment variables CodeBuild reads from Secrets Manager
   (the project's ``SECRETS_MANAGER`` variables), never as text here.

The project has no source (``NO_SOURCE``): nothing is checked out, so GitHub is not needed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import yaml

from deedbox.config.jobs import Job, env_file_script
from deedbox.config.model import Config
from deedbox.errors import ConfigError

IMAGE = "aws/codebuild/standard:7.0"
RUNTIMES = {"python": "3.11"}
DRILL_RUNTIMES = {"nodejs": "20"}  # the drill's code push (`npx convex deploy`) and web app
JOB_VARIABLE = "DEEDBOX_JOB"
PIP_VARIABLE = "DEEDBOX_PIP_SPEC"
PULUMI_VARIABLE = "DEEDBOX_PULUMI_VERSION"
CONFIG_EOF = "DEEDBOX_BACKUP_YAML"
# Pulumi's release tarballs (pulumi.com "Download and install": manual installation)
PULUMI_TARBALL = "https://get.pulumi.com/releases/sdk/pulumi-v${" + PULUMI_VARIABLE + "}-linux-x64.tar.gz"


def buildspec(config: Config, jobs: Sequence[Job]) -> str:
    """The buildspec (version 0.2, YAML) that runs ``jobs`` for ``config``."""
    runtimes = {**RUNTIMES, **(DRILL_RUNTIMES if any(j.id == "drill" for j in jobs) else {})}
    spec: dict[str, Any] = {
        "version": 0.2,
        "env": {"shell": "bash"},
        "phases": {
            "install": {"runtime-versions": runtimes, "commands": [
                "python -m venv .venv",
                f'.venv/bin/pip install --quiet --disable-pip-version-check "${PIP_VARIABLE}"',
            ]},
            "pre_build": {"commands": [
                ".venv/bin/deedbox init --dir . --format json > /dev/null",
                _write_config(config),
                ".venv/bin/deedbox validate --config backup.yaml",
            ]},
            "build": {"commands": [_run(jobs)]},
        },
    }
    return yaml.dump(spec, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True)


def _write_config(config: Config) -> str:
    if config.text is None:
        raise ConfigError("runner kind aws embeds backup.yaml in the jobs' buildspec: load the config from its file")
    if any(line.strip() == CONFIG_EOF for line in config.text.splitlines()):
        raise ConfigError(f"backup.yaml contains a line {CONFIG_EOF!r}, which ends the buildspec's copy of it")
    return f"cat > backup.yaml <<'{CONFIG_EOF}'\n{config.text.rstrip(chr(10))}\n{CONFIG_EOF}\n"


def _run(jobs: Sequence[Job]) -> str:
    lines = ["set -euo pipefail", 'export PATH="$PWD/.venv/bin:$PATH"', f'case "${{{JOB_VARIABLE}:-}}" in']
    # not indented: the env-file script is a heredoc, whose terminator must start its line
    for job in jobs:
        lines += [f"{job.id})", *_job(job), ";;"]
    known = ", ".join(j.id for j in jobs)
    lines += ["*)", f'echo "{JOB_VARIABLE}=${{{JOB_VARIABLE}:-}} is not a deedbox job (one of: {known})" >&2',
              "exit 2", ";;", "esac"]
    return "\n".join(lines) + "\n"


def _job(job: Job) -> list[str]:
    out: list[str] = []
    if job.id == "drill":
        out += [f'curl -fsSL "{PULUMI_TARBALL}" | tar -xz -C "$HOME"', 'export PATH="$HOME/pulumi:$PATH"']
    for command in job.commands:
        if command.env_file:
            out += ['export DEEDBOX_TMP="$(mktemp -d)"', "trap 'rm -rf \"$DEEDBOX_TMP\"' EXIT",
                    f"export DEEDBOX_KEYS={_quote(json.dumps(list(command.env_file)))}"]
            out += env_file_script("DEEDBOX_TMP").rstrip("\n").splitlines()
        out.append(command.line("$DEEDBOX_TMP/live.env"))
    return out


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


class _Dumper(yaml.SafeDumper):
    """Multi-line scripts as ``|`` blocks, as a person would write a buildspec."""


def _literal(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _literal)
