"""Putting things back: ``record`` (one document), ``full`` (everything, after a verified safety
export); ``common`` holds what both share (a verified snapshot on disk, the restore log)."""
