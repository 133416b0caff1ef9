"""``deedbox status``: per data class the newest good backup, its age and RPO. Exit 1 if stale.

``--format text|json|html`` shows one ``StatusReport``; ``-o FILE`` writes it to FILE (atomically:
a temporary file beside it, then renamed) instead of stdout. ``--publish`` (HTML only) also writes
the page once to ``status/<UTC ts>.html`` in the bucket and prints that key. Exit 0 when every
class is fresh, 1 when one is stale (whatever the findings), 2 on a usage or environment error.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command imports its modules when it runs (the CLI's startup stays small)
    from deedbox.status import StatusReport


def run(*, config: Path, bucket: str | None, format: str, output: Path | None = None,
        publish: bool = False) -> int:
    from deedbox.bucket.client import BucketClient
    from deedbox.commands.output import emit, load_config
    from deedbox.errors import UsageError
    from deedbox.status import build_report
    from deedbox.status import publish as publish_page
    from deedbox.status.page import render_html

    if publish and format != "html":
        raise UsageError(f"--publish writes the HTML page: use it with --format html (not {format})")
    cfg = load_config(config)
    store = BucketClient.resolve(cfg, bucket)
    report = build_report(cfg, store)
    doc = report.to_dict()
    if format == "html":
        page = render_html(report)
        if output is not None:
            _write_atomically(output, page)
        key = publish_page(store, report, page) if publish else None
        shown = [key] if key else ([] if output is not None else [page.rstrip("\n")])
        emit("text", {**doc, "published": key} if key else doc, shown)
    else:
        with _to_file(output):
            emit(format, doc, text_lines(report))
    return 0 if report.fresh else 1


def text_lines(report: StatusReport) -> list[str]:
    """The text view: one line per class (as always), then the uploads and the other open findings."""
    lines = [f"{r.data_class:<8} {'fresh' if r.fresh else 'STALE':<6} newest {r.newest or '-':<17} "
             f"age {'-' if r.age_hours is None else f'{r.age_hours:.1f}h'} / limit {r.limit_hours}h  {r.detail}"
             for r in report.classes]
    uploads = report.incomplete_uploads
    if uploads:
        lines.append(f"{len(uploads)} multipart upload(s) open for over an hour (killed exports?): "
                     + ", ".join(u.key for u in uploads[:3]) + (" …" if len(uploads) > 3 else "")
                     + "; the lifecycle rule aborts them after 7 days")
    lines += [f"open: {f.kind} {f.subject}: {f.detail}" for f in report.findings
              if f.kind not in ("stale", "incomplete-upload")]
    return lines


@contextlib.contextmanager
def _to_file(output: Path | None) -> Iterator[None]:
    """Inside the block, what is printed goes to ``output`` (written when the block ends), if given."""
    if output is None:
        yield
        return
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        yield
    _write_atomically(output, buffer.getvalue())


def _write_atomically(path: Path, text: str) -> None:
    """``text`` at ``path``: a temporary file in the same directory, then ``os.replace``."""
    from deedbox.errors import UsageError

    target = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 is for secrets; this is a report to share
        os.replace(tmp, target)
    except OSError as err:
        raise UsageError(f"cannot write {target}: {err.strerror or err}") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
