"""``deedbox doctor``: the live prerequisites of a first ``pulumi up`` and the first scheduled jobs.

- ``report``: ``Check`` (one checklist line: ``ok`` / ``fail`` / ``warn`` / ``skip``, a message,
  the fix), the facts checks decide on (``Answer``: a boto3 response, None, or ``Refused``), and
  the text and JSON renderings;
- ``buckets``, ``checks`` and ``deadman``: pure decisions, from facts to ``Check``s (media bucket and
  backup bucket; credentials, GitHub OIDC provider, Convex, vault; the dead-man's switch alarms);
- ``probe``: the read-only calls to AWS (boto3's standard chain plus ``AWS_ENDPOINT_URL``) and to
  Convex that gather those facts; no usable credentials is an ``EnvironmentProblem`` (exit 2);
- ``diagnose``: which facts each check needs, in the order the checklist prints them.

Nothing here reads a secret value: secrets are described (``DescribeSecret``), never fetched, and
the Convex key is only sent to its own deployment, never printed.
"""
