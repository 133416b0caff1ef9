"""What lives in the backup bucket, and where: the one list every reader and writer uses.

Pure (no boto3, no Pulumi): the topology's runner policy and stack output, and every operation,
read these prefixes. The runner may put, get and list under each, never delete.
"""

from __future__ import annotations

# DESIGN "What lives in the backup bucket".
PREFIXES = {
    "backend": "backend/",  # backend/<deployment>/<ts>-<reason>/snapshot.zip, manifest.json (last)
    "media": "media/",  # media/<class>/<source key> (sync mode; replicated media keeps its source key)
    "drills": "drills/",  # drills/<ts>/report.json, report.md
    "records": "records/",  # records/<kind>/<ts>.json: media-sync and secrets-verify evidence
    "restores": "restores/",  # restores/<ts>-<kind>-….json: the restore log
    "status": "status/",  # status/<ts>.html: the status page, when `status --publish` writes it
}
