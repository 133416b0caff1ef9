"""The deedbox backup topology: backup.yaml in, Pulumi resources out. Thin on purpose.

The engine runs this with ``infra/`` as the working directory and on ``sys.path``, so the config
path (Pulumi config ``deedbox:config``, default ``backup.yaml``) is resolved against the project
root, the parent of this directory. Everything else lives in ``deedbox.topology``.
"""

from pathlib import Path

import pulumi

from deedbox.config import load
from deedbox.errors import DeedboxError
from deedbox.topology import declare

PROJECT_ROOT = Path(__file__).resolve().parent.parent

config_path = PROJECT_ROOT / (pulumi.Config("deedbox").get("config") or "backup.yaml")
try:
    model = load(config_path)
except DeedboxError as err:  # `pulumi preview` shows a RunError as its message, not a traceback
    raise pulumi.RunError(str(err)) from err
for output_name, value in declare(model).items():
    pulumi.export(output_name, value)
