"""Pulumi components that deploy keel on AWS ECS Fargate, and the policies they must obey.

One component per module; ``keel.infra.app.KeelApp`` composes them for one stack from a
``keel.infra.config.StackConfig``. Built from plain ``pulumi_aws`` resources so unit
tests with Pulumi's mocks see every resource (see docs/adr/0003).
"""
