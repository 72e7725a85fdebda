"""Policies for what must outlive a deployment: the database and the logs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from keel.infra.policies.rules import Options


def database_is_protected(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    if not props.get("storageEncrypted"):
        yield "storage must be encrypted"
    if props.get("publiclyAccessible"):
        yield "the database must not be publicly accessible"
    if not props.get("deletionProtection"):
        yield "deletion protection must be on"
    if not props.get("backupRetentionPeriod"):
        yield "automated backups must be on (backupRetentionPeriod >= 1)"
    if not props.get("manageMasterUserPassword"):
        yield "the master password must be managed by RDS in Secrets Manager"
    if props.get("password"):
        yield "the master password must not be set in the program"
    if not options.protect:
        yield "the database resource must be protected (protect=True)"


def log_group_has_retention(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    if not props.get("retentionInDays"):
        yield "the log group keeps logs forever; set retentionInDays"
