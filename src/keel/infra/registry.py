"""The stack's ECR repository for keel's one container image."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

#: Untagged layers left behind by re-pushed tags are useless after a day.
UNTAGGED_EXPIRY_DAYS = 1


@dataclass(frozen=True, kw_only=True)
class ImageRepositoryArgs:
    prefix: str
    #: How many images to keep; older ones expire (a rollback needs only recent ones).
    keep_images: int
    tags: Mapping[str, str]


class ImageRepository(pulumi.ComponentResource):
    """An immutable-tag, scanned ECR repository with a lifecycle policy."""

    repository: aws.ecr.Repository
    url: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: ImageRepositoryArgs, opts: pulumi.ResourceOptions | None = None
    ):
        if args.keep_images < 1:
            raise ValueError("image repository: keep_images must be at least 1")
        super().__init__("keel:aws:ImageRepository", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.repository = aws.ecr.Repository(
            "images",
            name=args.prefix,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "AES256"}],
            tags=dict(args.tags),
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            "images",
            repository=self.repository.name,
            policy=json.dumps(lifecycle_policy(args.keep_images)),
            opts=child,
        )
        self.url = self.repository.repository_url
        self.arn = self.repository.arn
        self.register_outputs({"url": self.url, "arn": self.arn})


def lifecycle_policy(keep_images: int) -> dict:
    """Return the ECR lifecycle policy: drop untagged images, keep the newest tagged ones."""
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": "expire untagged images",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": UNTAGGED_EXPIRY_DAYS,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"keep the newest {keep_images} images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": keep_images,
                },
                "action": {"type": "expire"},
            },
        ]
    }
