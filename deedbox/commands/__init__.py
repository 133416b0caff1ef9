"""One module per CLI command, each exposing ``run(**options) -> int``."""
