"""``deedbox status``: is every data class fresh, what happened over the window, what is open.

- ``freshness``: the pure judgements: a class against its limit (``assess``), open uploads;
- ``history``: each class's events over the window (the object lock's retention) and its status
  judged from them: snapshot folders, ``records/media-sync``, ``records/secrets-verify``;
- ``report``: ``StatusReport``, the one structure the text, JSON and HTML show: classes, the
  timeline, drill reports (read through ``deedbox.bucket.drills``), open findings; ``publish``
  writes the page once under ``status/``;
- ``page`` and ``timeline``: the self-contained HTML page and its inline SVG (pure).
"""

from deedbox.status.freshness import STALE_UPLOAD, ClassStatus, OpenUpload, assess, open_uploads, stale_uploads
from deedbox.status.report import Finding, StatusReport, build_report, collect, publish

__all__ = ["STALE_UPLOAD", "ClassStatus", "Finding", "OpenUpload", "StatusReport", "assess", "build_report",
           "collect", "open_uploads", "publish", "stale_uploads"]
