"""The wheel is a library: keel's package and nothing else, with the extras docs name."""

from __future__ import annotations

import email
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.processes import REPO, uv_command

# Builds its own environments and databases: the same in every CI phase.
pytestmark = [pytest.mark.e2e, pytest.mark.once]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [*uv_command(), "build", "--wheel", "--out-dir", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [built] = out.glob("keel-*.whl")
    return built


def test_the_wheel_holds_the_keel_package_only(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/", 1)[0] for name in names}
    assert top_level == {"keel", wheel.name.split("-py3")[0] + ".dist-info"}
    assert "keel/runtime/cli.py" in names
    # The run console's pages and scripts travel with it (a project serves them itself).
    assert "keel/agents/templates/keel_console/run.html" in names
    assert "keel/agents/static/keel_console/run.js" in names
    assert not [name for name in names if "/tests/" in name or name.startswith("example/")]


def test_the_wheel_declares_the_supported_versions_and_extras(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        [metadata_name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.message_from_bytes(archive.read(metadata_name))
    requires = metadata.get_all("Requires-Dist") or []
    assert "django<7,>=5.2" in requires
    assert "djangorestframework<4,>=3.16" in requires
    assert set(metadata.get_all("Provides-Extra") or []) == {
        "openai",
        "anthropic",
        "bedrock",
        "infra",
    }
    assert any(line.startswith("pulumi") and "extra == 'infra'" in line for line in requires)
    # Secrets Manager for passwords that rotate, and the cutover controller: always there.
    assert "boto3>=1.40" in requires
    # keel.lambdas imports them itself (templates, schedules): declared, not left to DBOS.
    assert "pyyaml>=6.0.1" in requires
    assert "croniter>=6.2" in requires
    assert metadata["Requires-Python"] == ">=3.12"
