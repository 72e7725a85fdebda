"""Stand-ins for ``pulumi``, ``aws``, ``docker`` and ``curl`` while a doc's commands run.

``python doc_commands.py <tool> <args...>`` records the call (argv, working directory)
in ``$KEEL_DOC_STATE/calls.jsonl`` and answers as the real tool would for keel's stack:
``pulumi config set`` keeps the configuration, ``pulumi stack output`` answers from the
program run under keel's mocks with that configuration (Pulumi.dev.yaml plus what the
doc set), and ``aws`` answers the few queries whose output a doc uses. Whether each call
was right is judged afterwards, by the test, from the record.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

STATE = Path(os.environ.get("KEEL_DOC_STATE", "."))
INFRA = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"


def record(tool: str, argv: list[str]) -> None:
    line = json.dumps({"tool": tool, "argv": argv, "cwd": os.getcwd()})
    with (STATE / "calls.jsonl").open("a") as calls:
        calls.write(line + "\n")


def fail(message: str, code: int = 1) -> None:
    sys.stderr.write(message + "\n")
    sys.exit(code)


# ---- pulumi ----------------------------------------------------------------------------


def stack_config() -> dict[str, Any]:
    """Return the stack's configuration: Pulumi.dev.yaml, then every ``config set``."""
    import yaml

    path = STATE / "config.json"
    if path.exists():
        return json.loads(path.read_text())
    return dict(yaml.safe_load((INFRA / "Pulumi.dev.yaml").read_text())["config"])


def set_path(config: dict[str, Any], key: str, value: str, *, path: bool) -> None:
    """Set ``key`` as ``pulumi config set [--path]`` does (``a:b.c[0]``)."""
    if not path:
        config[key] = value
        return
    namespace, _, rest = key.partition(":")
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", rest)
    target: Any = config
    name = f"{namespace}:{parts[0]}"
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        following = parts[index + 1] if not last else None
        slot: Any = name if index == 0 else (int(part[1:-1]) if part.startswith("[") else part)
        empty: Any = [] if following and following.startswith("[") else {}
        if isinstance(target, list):
            while len(target) <= slot:
                target.append(None)
            if last:
                target[slot] = value
            elif target[slot] is None:
                target[slot] = empty
        elif last:
            target[slot] = value
        else:
            target.setdefault(slot, empty)
        if not last:
            target = target[slot]


def outputs() -> dict[str, Any]:
    """Return the stack outputs of the current configuration (cached per configuration)."""
    config = stack_config()
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
    cached = STATE / f"outputs-{digest}.json"
    if not cached.exists():
        sys.path.insert(0, str(INFRA / "tests"))
        import conftest  # noqa: F401  (silences pulumi_aws's import-time warnings)
        from keel_infra_mocks import deploy, stack_config_from

        deployment = deploy(stack_config_from(config, stack="dev"))
        cached.write_text(json.dumps(deployment.outputs))
    return json.loads(cached.read_text())


def pulumi(argv: list[str]) -> None:
    match argv:
        case ["stack", "init", _]:
            return
        case ["config", "set", "--path", key, value] | ["config", "set", key, "--path", value]:
            config = stack_config()
            set_path(config, key, value, path=True)
            (STATE / "config.json").write_text(json.dumps(config))
        case ["config", "set", key, value]:
            config = stack_config()
            set_path(config, key, value, path=False)
            (STATE / "config.json").write_text(json.dumps(config))
        case ["stack", "output", name, *flags]:
            found = outputs()
            if name not in found:
                fail(f"error: current stack does not have output property '{name}'")
            value = found[name]
            if "--json" in flags or not isinstance(value, str):
                print(json.dumps(value, indent=2))
            else:
                print(value)
        case ["up" | "preview", *_]:
            return
        case _:
            fail(f"doc_commands: unexpected pulumi command {argv}", 2)


# ---- aws, docker, curl -----------------------------------------------------------------


def option(argv: list[str], name: str, default: str = "") -> str:
    return argv[argv.index(name) + 1] if name in argv else default


def aws(argv: list[str]) -> None:
    region = option(argv, "--region", os.environ.get("AWS_REGION", ""))
    match argv[:2]:
        case ["sts", "get-caller-identity"]:
            print(ACCOUNT)
        case ["acm", "request-certificate"]:
            print(
                f"arn:aws:acm:{region}:{ACCOUNT}:certificate/0a1b2c3d-0000-4000-8000-000000000000"
            )
        case ["acm", "describe-certificate"]:
            print(
                json.dumps(
                    {
                        "Name": "_x.keel-dev.example.com.",
                        "Type": "CNAME",
                        "Value": "_y.acm-validations.aws.",
                    }
                )
            )
        case ["ecr", "describe-repositories"]:
            name = option(argv, "--repository-names")
            repository = str(outputs()["repository_url"])
            if repository.rsplit("/", 1)[-1] != name:
                fail(
                    f"An error occurred (RepositoryNotFoundException): repository {name} not found",
                    254,
                )
            print(repository)
        case ["ecr", "get-login-password"]:
            print("ecr-password")
        case _:
            print("[]")


def docker(argv: list[str]) -> None:
    if argv[:1] == ["login"] and "--password-stdin" in argv and not sys.stdin.read().strip():
        fail("Error: Cannot perform an interactive login from a non TTY device")


def curl(argv: list[str]) -> None:
    print(json.dumps({"status": "ok", "checks": {}}))


def main() -> None:
    tool, *argv = sys.argv[1:]
    record(tool, argv)
    {"pulumi": pulumi, "aws": aws, "docker": docker, "curl": curl}[tool](argv)


if __name__ == "__main__":
    main()
