"""Which channels a config names, and sending one event to each of them.

A channel that cannot be reached is a ``Delivery`` whose outcome says why, never an exception:
the caller decides what a failed notification does to its exit code (``deedbox.commands.notify``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from deedbox.config.model import Config
from deedbox.notify.channel import Channel, Delivery, Outcome
from deedbox.notify.events import Event, wanted
from deedbox.notify.slack import SlackWebhook
from deedbox.notify.sns import SnsTopic
from deedbox.notify.topic import topic_arn


def channels(config: Config, environ: Mapping[str, str] | None = None) -> list[Channel]:
    """The Slack webhook (URL from its environment variable) and the SNS topic the config names."""
    notes = config.notifications
    if notes is None:
        return []
    env = os.environ if environ is None else environ
    found: list[Channel] = []
    if notes.slack_webhook is not None:
        found.append(SlackWebhook(notes.slack_webhook.env, env.get(notes.slack_webhook.env)))
    arn = topic_arn(config)
    if arn is not None:
        found.append(SnsTopic(arn))
    return found


def should_send(event: Event, config: Config) -> bool:
    """Whether ``notifications.on`` asks for this event (no notifications block: never)."""
    return config.notifications is not None and wanted(event, config.notifications.on)


def deliver(event: Event, config: Config, to: Sequence[Channel]) -> list[Delivery]:
    """Send ``event`` to every channel in ``to``; one ``Delivery`` each, in order."""
    return [Delivery(c.label, c.target, _send(c, event, config)) for c in to]


def _send(channel: Channel, event: Event, config: Config) -> Outcome:
    try:
        return channel.send(event, config)
    except Exception as err:  # a channel's bug must not hide the others or the command's result
        return Outcome(False, f"unexpected {type(err).__name__}")
