"""Publish an event to an SNS topic (e-mail subscribers read the subject and the plain text).

boto3's standard chain finds the credentials (the runner role: it needs ``sns:Publish`` on the
topic) and ``AWS_ENDPOINT_URL`` an endpoint; the region is the topic's own, from its ARN.
"""

from __future__ import annotations

from typing import Any

from deedbox.config.model import Config
from deedbox.notify.channel import Outcome
from deedbox.notify.events import Event
from deedbox.notify.message import headline, sns_message, sns_subject
from deedbox.notify.topic import topic_region


class SnsTopic:
    """One topic; ``client`` is an SNS client (made lazily for the topic's region when not given)."""

    def __init__(self, arn: str, *, client: Any = None) -> None:
        self.arn, self._client = arn, client

    @property
    def label(self) -> str:
        return f"sns {self.arn}"

    @property
    def target(self) -> str:
        return self.label

    def send(self, event: Event, config: Config) -> Outcome:
        return self.publish(sns_subject(headline(event, config)), sns_message(event, config))

    def publish(self, subject: str, message: str) -> Outcome:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._sns().publish(TopicArn=self.arn, Subject=subject, Message=message)
        except ClientError as err:
            error = err.response.get("Error", {})
            return Outcome(False, f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip(": "))
        except BotoCoreError as err:  # no credentials, no endpoint: botocore's messages name no secret
            return Outcome(False, str(err))
        return Outcome(True, message_id=answer.get("MessageId"))

    def _sns(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config as BotoConfig

            cfg = BotoConfig(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10)
            self._client = boto3.client("sns", region_name=topic_region(self.arn), config=cfg)
        return self._client
