"""Preflight's checks of a project that adopted keel: each names the adoption step it lacks.

docs/adopting.md lists the steps. Most missing ones are caught by system checks that keel's
apps register (``check --deploy`` runs them), but a check of an app that is not installed
never runs, and settings that ignore the task's database variables load without error.
These findings cover what the system checks cannot see.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path

from keel import ecs
from keel.runtime.preflight_report import Finding

#: keel's apps every web task needs; their own system checks cover the rest.
REQUIRED_APPS = ("keel.health", "keel.streaming", "keel.tasks")
#: An address a simulated task has, so that off ECS the settings' task-IP step is checked.
#: Not the health checker's Host (preflight_alb.ALB_HOST): /healthz must pass for any Host,
#: not only for one the settings happen to allow.
SIMULATED_TASK_IP = "10.0.0.11"
#: What ``keel init`` writes beside ``manage.py`` (docs/adopting.md, step 11).
DEPLOYMENT_FILES = ("Dockerfile", ".dockerignore", "infra/Pulumi.yaml")
#: Set by the image (keel's Dockerfile and the ones ``keel init`` writes): there the
#: deployment files are left out on purpose (.dockerignore), so they are not looked for.
IMAGE_VARIABLE = "KEEL_IMAGE"


def simulate_task_metadata(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Off ECS, make the settings see a task at ``SIMULATED_TASK_IP``; True if simulated.

    Done before the settings load, so a project whose ALLOWED_HOSTS does not take in
    ``keel.ecs.task_allowed_hosts()`` fails system check keel.E003 here, as it would on
    ECS, instead of answering 400 to every in-VPC caller after the deploy. On ECS the
    real metadata endpoint is used and nothing is simulated.
    """
    if environ.get(ecs.METADATA_VARIABLE):
        return False
    document = {"Containers": [{"Networks": [{"IPv4Addresses": [SIMULATED_TASK_IP]}]}]}
    environ[ecs.METADATA_VARIABLE] = "http://169.254.170.2/v4/keel-preflight"
    environ[ecs.HANDED_DOWN_VARIABLE] = json.dumps(document)
    ecs.task_metadata.cache_clear()
    return True


def apps_finding() -> Finding:
    from django.apps import apps

    missing = [name for name in REQUIRED_APPS if not apps.is_installed(name)]
    return Finding(
        name="keel's apps installed",
        ok=not missing,
        detail=", ".join(REQUIRED_APPS) if not missing else f"missing: {', '.join(missing)}",
        fix="Add " + ", ".join(f'"{name}"' for name in missing) + " to INSTALLED_APPS "
        "(docs/adopting.md, step 2)."
        if missing
        else "",
    )


def deployment_files_finding(
    directory: Path | None = None, environ: Mapping[str, str] = os.environ
) -> Finding | None:
    """In a project checkout, the files ``keel init`` writes must be there; None in the image."""
    directory = Path.cwd() if directory is None else directory
    if environ.get(IMAGE_VARIABLE) or not (directory / "manage.py").is_file():
        return None
    missing = [name for name in DEPLOYMENT_FILES if not (directory / name).exists()]
    return Finding(
        name="deployment files",
        ok=not missing,
        detail=", ".join(DEPLOYMENT_FILES) if not missing else f"missing: {', '.join(missing)}",
        fix="Run `keel init` in the directory that holds manage.py; it writes only what is "
        "missing (docs/adopting.md, step 11)."
        if missing
        else "",
    )


def database_finding(environ: MutableMapping[str, str] = os.environ) -> Finding:
    """The settings must use the database the task definition names, not their own."""
    from django.conf import settings

    name = "settings use the task's database variables"
    configured = settings.DATABASES["default"]
    host = environ.get("DATABASE_HOST", "").strip()
    if environ.get("DATABASE_URL", "").strip():
        from keel.conf import Env, database_config

        expected = database_config(Env(environ))
        same = all(configured.get(key) == expected.get(key) for key in ("ENGINE", "HOST", "NAME"))
        detail = "DATABASE_URL"
    elif host:
        same = configured.get("HOST") == host
        detail = f"DATABASE_HOST={host}"
    else:
        return Finding(name=name, ok=True, detail="no database variables set")
    return Finding(
        name=name,
        ok=same,
        detail=detail if same else f"{detail} is set, but the settings connect elsewhere",
        fix=""
        if same
        else 'Build DATABASES from the environment: DATABASES = {"default": '
        "keel.conf.database_config(base_dir=BASE_DIR)} (docs/adopting.md, step 5).",
    )
