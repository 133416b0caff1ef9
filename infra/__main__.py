"""The deedbox backup stack: backup.yaml (Pulumi config ``deedbox:config``, relative to the project root) in, resources out."""
from pathlib import Path

from deedbox.topology import load_model, program

program(load_model(Path(__file__).resolve().parent.parent))
