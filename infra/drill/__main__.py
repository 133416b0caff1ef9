"""One drill stack; ``deedbox drill run`` sets its config (``deedbox-drill:*``) through the Automation API."""
from pathlib import Path

import pulumi

from deedbox.topology import drill_program, load_model

cfg = pulumi.Config("deedbox-drill")
drill_program(load_model(Path(__file__).resolve().parent, namespace="deedbox-drill", default=None),
              cfg.require("drillId"), cfg.require("expiresAt"), bucket=cfg.require("bucket"))
