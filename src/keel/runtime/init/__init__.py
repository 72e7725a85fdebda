"""``keel init``: write what an existing Django project needs to run on ECS with keel.

Run in the directory that holds the project's ``manage.py``. It writes the files the
project does not have yet (a Dockerfile, ``.dockerignore``, an ``infra/`` Pulumi
program with ``dev`` and ``prod`` stacks, and a GitHub Actions deploy workflow) and never overwrites one: a file that exists is
reported as skipped, so running it again changes nothing. Then it prints what it found
and the next steps (docs/adopting.md).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TextIO

from keel.runtime.init.project import NotAProject, Project, detect

#: Where each file is written, from which template (``{{keel:...}}`` placeholders).
FILES = (
    ("Dockerfile", "Dockerfile.{dependencies}"),
    (".dockerignore", "dockerignore"),
    ("infra/Pulumi.yaml", "infra/Pulumi.yaml"),
    ("infra/__main__.py", "infra/__main__.py.tmpl"),
    ("infra/Pulumi.dev.yaml", "infra/Pulumi.dev.yaml"),
    ("infra/Pulumi.prod.yaml", "infra/Pulumi.prod.yaml"),
    ("infra/policy/PulumiPolicy.yaml", "infra/policy/PulumiPolicy.yaml"),
    ("infra/policy/__main__.py", "infra/policy/__main__.py.tmpl"),
    (".github/workflows/deploy.yml", "github/deploy.yml"),
)

#: The steps that build the Pulumi program's environment in CI, as the project builds it.
INSTALL_STEPS = {
    "uv": "\n".join(
        [
            "      - uses: astral-sh/setup-uv@v6",
            "      - run: uv sync --locked",
        ]
    ),
    "pip": "\n".join(
        [
            "      - uses: actions/setup-python@v5",
            "        with:",
            '          python-version: "3.13"',
            "      - run: |",
            "          python -m venv .venv",
            '          .venv/bin/pip install --requirement requirements.txt "keel[infra]"',
        ]
    ),
}


@dataclass(frozen=True)
class Written:
    path: str
    written: bool


def render(template: str, project: Project) -> str:
    """Fill a template's ``{{keel:...}}`` placeholders; refuse one left unfilled."""
    text = (resources.files("keel.runtime.init") / "templates" / template).read_text()
    values = {
        "name": project.name,
        "settings_module": project.settings_module,
        # Pulumi's language host builds the program's environment the project's way.
        "toolchain": project.dependencies,
        "install_steps": INSTALL_STEPS[project.dependencies],
    }
    for key, value in values.items():
        text = text.replace("{{keel:" + key + "}}", value)
    if "{{keel:" in text:
        raise ValueError(f"template {template} has a placeholder keel init does not fill")
    return text


def write_files(project: Project) -> list[Written]:
    """Write each file the project lacks; leave every existing one untouched."""
    results = []
    for target, template in FILES:
        path = project.root / target
        if path.exists():
            results.append(Written(target, False))
            continue
        content = render(template.format(dependencies=project.dependencies), project)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as file:  # "x": never replace a file
            file.write(content)
        results.append(Written(target, True))
    return results


def run_init(root: Path | None = None, *, out: TextIO = sys.stdout) -> int:
    """Set up the project in ``root`` (the working directory); return an exit status."""
    try:
        project = detect((root or Path.cwd()).resolve())
    except NotAProject as error:
        print(f"keel init: {error}", file=sys.stderr)
        return 2
    results = write_files(project)
    print(f"keel init: {project.root}", file=out)
    print(f"  settings module   {project.settings_module} (from manage.py)", file=out)
    print(
        f"  WSGI application  {project.wsgi_application or 'Django default'} (keel web serves it;"
        " views marked streaming_view go to Django's ASGI handler)",
        file=out,
    )
    if project.asgi_application:
        print(
            f"  ASGI application  {project.asgi_application} (not used: keel web runs Django's"
            " handlers itself; see docs/adopting.md)",
            file=out,
        )
    print(f"  dependencies      {project.dependencies}", file=out)
    for result in results:
        print(
            f"  {'wrote  ' if result.written else 'skipped'} {result.path}"
            + ("" if result.written else " (exists; not changed)"),
            file=out,
        )
    print(NEXT_STEPS.format(name=project.name), file=out)
    return 0


NEXT_STEPS = """
Next (docs/adopting.md):
  1. keel migrate                      # the database, and the DBOS system database
  2. keel preflight                    # every adoption step, checked as ECS will run it
  3. keel web & keel worker            # locally, with the production settings' checks
  4. cd infra && pulumi stack init dev && pulumi config set keel:imageTag <tag>
     then push the image and `pulumi up` (keel's docs/deploy.md)"""
