"""The top level of a deedbox project, as ``deedbox init`` writes it into a team's repository.

A platform team installs deedbox (``pip install deedbox``) instead of forking it; its repository
holds only what is its own: the config, the three Pulumi entry points that call the installed
package, the policy pack's entry point, CI and the pre-commit hook. ``FILES`` lists them and
``files(version)`` renders them (pure: no I/O but reading this package's own data).

The templates are package data (``files/*.tmpl``, flat, so no template is taken for a module of
this package); ``@DEEDBOX_VERSION@`` in them becomes the deedbox release the repository pins.
``schema/backup.schema.json`` is not a template: it is the package's own schema, byte for byte.

deedbox's own repository is the reference instance: its top level equals ``files(__version__)``
except for the lines that make it run its own checkout (``tests/test_init.py`` states them).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

VERSION_MARK = "@DEEDBOX_VERSION@"
SCHEMA = "schema/backup.schema.json"


@dataclass(frozen=True, slots=True)
class File:
    """One file ``deedbox init`` writes: where (relative, POSIX), from which template, and why."""

    path: str
    template: str | None  # a name under files/; None: generated (the schema)
    about: str


FILES: tuple[File, ...] = (
    File("backup.yaml", "backup.yaml.tmpl",
         "the backup plan: what is protected, where to, how often; the one file you edit (a valid example)"),
    File(SCHEMA, None,
         "the config's JSON Schema, which backup.yaml's first line points editors at"),
    File("Pulumi.yaml", "Pulumi.yaml.tmpl",
         "the backup stack's Pulumi project (program infra/, virtualenv .venv, config deedbox:config)"),
    File("infra/__main__.py", "infra_main.py.tmpl",
         "the backup stack's program: deedbox.topology.program(backup.yaml)"),
    File("infra/requirements.txt", "infra_requirements.txt.tmpl",
         "what the programs need: the pinned deedbox release, installed into .venv"),
    File("infra/drill/Pulumi.yaml", "infra_drill_Pulumi.yaml.tmpl",
         "the restore-drill project that `deedbox drill run` creates and destroys stacks of"),
    File("infra/drill/__main__.py", "infra_drill_main.py.tmpl",
         "one drill stack's program: deedbox.topology.drill_program"),
    File("infra/source/Pulumi.yaml", "infra_source_Pulumi.yaml.tmpl",
         "the platform-account project (media replication), applied with the platform's credentials"),
    File("infra/source/__main__.py", "infra_source_main.py.tmpl",
         "the platform-account program: deedbox.topology.source_program"),
    File("policies/PulumiPolicy.yaml", "policies_PulumiPolicy.yaml.tmpl",
         "the CrossGuard policy pack (`pulumi preview --policy-pack policies/`), run in .venv"),
    File("policies/__main__.py", "policies_main.py.tmpl",
         "the pack's entry point: deedbox.policy's rules, every one mandatory"),
    File("policies/requirements.txt", "policies_requirements.txt.tmpl",
         "what the pack needs: pulumi-policy and the pinned deedbox"),
    File(".github/workflows/pr.yml", "github_workflows_pr.yml.tmpl",
         "every pull request: validate, offline plan as a sticky comment, fail on a policy violation"),
    File(".github/workflows/deploy.yml", "github_workflows_deploy.yml.tmpl",
         "on merge to main: preview, then apply, with the policy pack, through OIDC"),
    File(".pre-commit-config.yaml", "pre-commit-config.yaml.tmpl",
         "the deedbox-validate hook on every commit that touches backup.yaml (pinned deedbox)"),
)

PATHS: tuple[str, ...] = tuple(f.path for f in FILES)


def _data(package: str, *parts: str) -> str:
    """A package data file as text, byte for byte (no newline translation)."""
    return resources.files(package).joinpath(*parts).read_bytes().decode("utf-8")


def files(version: str) -> dict[str, str]:
    """Relative path → text of every file of a deedbox project that pins deedbox ``version``."""
    if not version or any(c.isspace() for c in version) or VERSION_MARK in version:
        raise ValueError(f"not a version: {version!r}")
    out: dict[str, str] = {}
    for f in FILES:
        if f.template is None:
            out[f.path] = _data("deedbox", "config", "backup.schema.json")
        else:
            out[f.path] = _data("deedbox.scaffold", "files", f.template).replace(VERSION_MARK, version)
    return out
