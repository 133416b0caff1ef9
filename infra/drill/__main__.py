"""Pulumi program of one drill stack: thin, everything lives in ``deedbox.topology.drill``.

``deedbox drill run`` sets the stack config (config path, drill id, expiry, bucket) through the
Automation API; secrets (the Convex team token) reach the dynamic provider only through the env.
"""

from pathlib import Path

import pulumi

from deedbox.config import load
from deedbox.topology.drill import declare_drill

cfg = pulumi.Config("deedbox-drill")
config_path = Path(cfg.require("config"))
if not config_path.is_absolute():
    config_path = Path(__file__).resolve().parent / config_path

declare_drill(load(config_path), cfg.require("drillId"), cfg.require("expiresAt"), bucket=cfg.require("bucket"))
