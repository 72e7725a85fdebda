"""Durable AI-agent runs: models, API, DBOS workflows, worker recovery and event streams."""
