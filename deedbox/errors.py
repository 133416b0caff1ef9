"""The one error hierarchy of deedbox, and the exit code of each error.

::

    DeedboxError                 exit 2 unless a subclass says otherwise
    ├── UsageError               bad arguments or a file that cannot be read         (2)
    ├── ConfigError              backup.yaml is invalid; carries the diagnostics      (1)
    ├── CheckFailed              the thing checked is wrong: a mismatch, a policy    (1)
    │                            violation, a stale backup, a failed drill
    ├── EnvironmentProblem       missing credentials, unreachable service, no bucket (2)
    │   ├── ConvexError          the Convex API refused or failed a request
    │   │   ├── ConvexAuthError  401/403: the key is missing, wrong or lacks a permission
    │   │   ├── ConvexNotFound   404: wrong deployment URL or unknown export
    │   │   └── ImportRejected   the import ran and Convex refused it (state failed)
    │   └── StorageError         the backup bucket refused or failed a request
    │       └── ObjectMissing    404: the key or version is not there
    └── SnapshotError            a snapshot ZIP is corrupt, truncated or inconsistent (1)

``deedbox.cli`` maps every ``DeedboxError`` to its ``exit_code`` and prints its message on one
line. Messages never contain secret values: raise with the *name* of a secret, never its value.
"""

from __future__ import annotations


class DeedboxError(Exception):
    """Base of every error deedbox expects; the CLI prints ``str(err)`` and exits ``exit_code``."""

    exit_code: int = 2


class UsageError(DeedboxError):
    """The command line or an input file given to it cannot be used."""

    exit_code = 2


class ConfigError(DeedboxError):
    """``backup.yaml`` is invalid. ``diagnostics`` lists every problem with its position."""

    exit_code = 1

    def __init__(self, message: str, diagnostics: tuple = ()) -> None:
        super().__init__(message)
        self.diagnostics = tuple(diagnostics)


class CheckFailed(DeedboxError):
    """The thing checked is wrong: verification mismatch, policy failure, stale backup, failed drill."""

    exit_code = 1


class EnvironmentProblem(DeedboxError):
    """The environment is not usable: credentials, endpoints, a bucket or stack output missing."""

    exit_code = 2


class ConvexError(EnvironmentProblem):
    """The Convex deployment API refused or failed a request."""


class ConvexAuthError(ConvexError):
    """401/403 from Convex: the deploy/admin key is missing, wrong, or lacks a permission."""


class ConvexNotFound(ConvexError):
    """404 from Convex: the deployment URL is wrong or the export no longer exists."""


class StorageError(EnvironmentProblem):
    """The backup store (S3) refused or failed a request."""


class ObjectMissing(StorageError):
    """404 from S3: the key (or the version asked for) is not in the bucket: a finding, not an outage."""


class ImportRejected(ConvexError):
    """Convex ran the import and refused it (its state is ``failed``): nothing was written."""


class SnapshotError(DeedboxError):
    """A snapshot ZIP is corrupt, truncated, or inconsistent with its manifest."""

    exit_code = 1
