"""Keel: run a Django + DRF monolith and its AI agents on AWS ECS Fargate behind an ALB."""

__version__ = "0.1.0"
