"""The platform-account side (media replication): applied by the platform owner, with platform credentials."""
from pathlib import Path

from deedbox.topology import load_model, source_program

source_program(load_model(Path(__file__).resolve().parent.parent.parent, namespace="deedbox-source"))
