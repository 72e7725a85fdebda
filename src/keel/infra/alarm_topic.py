"""The SNS topic every alarm of the stack notifies, and its optional email subscription."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True, kw_only=True)
class AlarmTopicArgs:
    prefix: str
    tags: Mapping[str, str]
    #: Subscribed by email; AWS sends it a confirmation link first.
    email: str | None = None


class AlarmTopic(pulumi.ComponentResource):
    """``<prefix>-alarms``: what fires and what clears, for people and tools to subscribe to.

    The topic uses SNS's default access policy, under which CloudWatch alarms of the same
    account may publish; it is not encrypted with the AWS managed key ``aws/sns``, whose
    key policy CloudWatch cannot use (a customer managed key would need a grant for
    ``cloudwatch.amazonaws.com``). Alarm messages carry names and numbers, no data.
    """

    topic: aws.sns.Topic
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: AlarmTopicArgs, opts: pulumi.ResourceOptions | None = None):
        if args.email is not None and "@" not in args.email:
            raise ValueError(f"alarm topic: {args.email!r} is not an email address")
        super().__init__("keel:aws:AlarmTopic", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(
            "alarms", name=f"{args.prefix}-alarms", tags=dict(args.tags), opts=child
        )
        if args.email is not None:
            aws.sns.TopicSubscription(
                "alarms-email",
                topic=self.topic.arn,
                protocol="email",
                endpoint=args.email,
                opts=child,
            )
        self.arn = self.topic.arn
        self.register_outputs({"arn": self.arn})
