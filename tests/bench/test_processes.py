"""Commands the harness runs to their end: output back on success, both streams on failure."""

import os
import sys

import pytest

from bench.processes import REPO, run_command


def test_run_command_returns_output_and_runs_in_the_repository():
    output = run_command(
        [sys.executable, "-c", "import os; print(os.getcwd())"],
        environment=dict(os.environ),
        timeout=60,
        what="printing the directory",
    )
    assert output == f"{REPO}\n"


def test_run_command_failure_names_the_step_and_keeps_the_end_of_both_streams():
    script = "import sys; print('x' * 5000 + 'last out'); sys.exit('last err')"
    with pytest.raises(RuntimeError) as failure:
        run_command(
            [sys.executable, "-c", script],
            environment=dict(os.environ),
            timeout=60,
            what="the step",
        )
    message = str(failure.value)
    assert message.startswith("the step failed:\n")
    assert "last out" in message
    assert message.endswith("last err\n")
    assert len(message) < 3100
