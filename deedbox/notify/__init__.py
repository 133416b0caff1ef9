"""Notifications: who hears that a backup failed, went stale, or (when asked) succeeded.

Concepts, pure first:

- ``Event`` (``events``): one outcome of an operation (export, verify, media-sync,
  secrets-verify, status, drill, test) as kind (failure | stale | success), title, failed step,
  the bucket key of its evidence, what to do next and the exit code; ``derive`` builds it from
  what the command left: exit code, emitted JSON document, one-line error.
- ``message``: an event as a Slack incoming-webhook body (text + Block Kit) and as an SNS
  subject and plain-text body.
- ``topic``: the SNS topic: ``notifications.sns_topic_arn``, or for ``notifications.email`` the
  one the topology declares as ``topic_name(config)``.

I/O: ``slack.SlackWebhook`` and ``sns.SnsTopic`` are the channels (``channel.Channel``);
``deliver.channels(config)`` lists those a config names and ``deliver.deliver`` sends to them.
``notifications.on`` decides which kinds go out (``deliver.should_send``).
"""

from deedbox.notify.events import FAILURE, KINDS, OPERATIONS, STALE, SUCCESS, Event, derive, probe_event, wanted
from deedbox.notify.topic import topic_arn, topic_name

__all__ = ["FAILURE", "KINDS", "OPERATIONS", "STALE", "SUCCESS", "Event", "derive", "probe_event",
           "topic_arn", "topic_name", "wanted"]
