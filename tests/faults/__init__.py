"""The fault suite: every storing or restoring operation under injected S3 and Convex faults.

S3 faults come from ``tests.support.fault_proxy.FaultProxy`` between boto3 and moto
(``AWS_ENDPOINT_URL`` points at it); Convex faults from the test server's own ``fail_next``
(5xx, 429 + ``Retry-After``), ``cut_stream_after`` and ``fail_exports``, or a proxy in front of it
(resets, cuts, delays, lost answers). The contract checked, per operation:

(a) a transient fault that botocore / the Convex transport retries within its budget: the
    operation succeeds and its result is right (the manifest verifies with ``--read-data``,
    every object is copied, the record is back in the table and logged);
(b) a persistent fault: one ``deedbox: error:`` line on stderr, exit 2 for the environment
    (1 for a check that failed), no traceback, and nothing marked complete that is not (no
    manifest without verified data, no open multipart upload, no restore log for a restore that
    did not finish, no media copy indexed that was not made); a cut body is never vouched for.

The first run of this suite found eight contract breaks (cut bodies read as short successes,
S3 outages reported as findings, lost answers to conditional writes failing the write,
s3transfer's RetriesExceededError escaping, Convex outages during a record restore exiting 1
with a false "the table is as it was", restores whose log failed not saying they happened,
429 not retried); each is fixed and its test here is now a plain assertion.
"""
