"""The SNS topic notifications are published to (pure: names only, no AWS calls).

``notifications.sns_topic_arn`` names a topic the team already has. Without it, when
``notifications.email`` lists addresses, the topology declares a topic of its own in the
destination account, named ``topic_name(config)``, and subscribes those addresses to it; the
runner publishes to ``topic_arn(config)``, the ARN that name has in the destination account and
region. Both sides call these functions, so the name cannot drift between them.
"""

from __future__ import annotations

from deedbox.config.model import Config
from deedbox.config.regions import partition


def topic_name(config: Config) -> str:
    """``<name>-deedbox-notifications``: the topic the topology declares for ``notifications.email``."""
    return f"{config.name}-deedbox-notifications"


def topic_arn(config: Config) -> str | None:
    """The topic to publish to: ``sns_topic_arn``, else the declared topic when e-mail is configured, else None."""
    notes = config.notifications
    if notes is None:
        return None
    if notes.sns_topic_arn:
        return notes.sns_topic_arn
    if not notes.email:
        return None
    dest = config.destination
    return f"arn:{partition(dest.region) or 'aws'}:sns:{dest.region}:{dest.account}:{topic_name(config)}"


def topic_region(arn: str) -> str:
    """The region an SNS topic ARN names (``arn:aws:sns:<region>:<account>:<name>``)."""
    return arn.split(":")[3]
