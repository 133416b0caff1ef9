"""Restore drills: ``run`` (verify, stack up, import, round trip, checks, teardown, report),
``stacks`` (the Automation API behind a small protocol), ``admin`` (list, reap), ``report``
(the evidence, pure)."""
