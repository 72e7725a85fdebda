"""Check an ``aws`` command line against the AWS CLI's own service models (botocore).

The AWS CLI builds each ``aws <service> <operation> --<parameter>`` from botocore's
models: operation ``DescribeRepositories`` is ``describe-repositories``, member
``repositoryNames`` is ``--repository-names``, a boolean member also has
``--no-<name>``, and ``aws <service> wait <waiter>`` takes the members of the waiter's
operation. A handful of commands are CLI customizations with no model; they are listed
here with their options. A structure member given in the CLI's shorthand
(``--tls-config ServerNameToVerify=example.com``) must name the structure's own keys.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import botocore.session
from botocore import xform_name

#: Options every command takes, with whether they take a value.
GLOBAL_OPTIONS = {
    "--region": True,
    "--output": True,
    "--query": True,
    "--profile": True,
    "--endpoint-url": True,
    "--no-cli-pager": False,
    "--debug": False,
    "--cli-input-json": True,
}
#: CLI customizations (no botocore operation): their options and whether they take a value.
CUSTOMIZATIONS: dict[tuple[str, str], dict[str, bool]] = {
    ("ecr", "get-login-password"): {},
    ("logs", "tail"): {
        "--follow": False,
        "--since": True,
        "--format": True,
        "--filter-pattern": True,
        "--log-stream-names": True,
        "--log-stream-name-prefix": True,
    },
}
#: Customizations that take positional arguments (``aws logs tail <group>``).
POSITIONAL = {("logs", "tail"): 1}


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.cache
def _operations(service: str) -> dict[str, str]:
    model = _session().get_service_model(service)
    return {xform_name(name, "-"): name for name in model.operation_names}


@functools.cache
def _shorthand_keys(service: str, operation: str) -> dict[str, frozenset[str]]:
    """Return ``--option -> the keys its shorthand takes`` for structure members (and
    lists of structures, whose shorthand names one item's keys)."""
    shape = _session().get_service_model(service).operation_model(operation).input_shape
    keys: dict[str, frozenset[str]] = {}
    for name, member in ({} if shape is None else shape.members).items():
        if member.type_name == "list":
            member = member.member
        if member.type_name == "structure":
            keys["--" + xform_name(name, "-")] = frozenset(member.members)
    return keys


def shorthand_keys(value: str) -> list[str]:
    """Return the top-level keys of a shorthand value (``A=1,B=[{C=2}],D=x,y`` -> A, B, D).

    JSON, ``file://`` values and bare words have none.
    """
    if value.startswith(("{", "[", "file://")):
        return []
    pieces, depth, current = [], 0, ""
    for character in value:
        depth += {"[": 1, "{": 1, "]": -1, "}": -1}.get(character, 0)
        if character == "," and depth == 0:
            pieces.append(current)
            current = ""
        else:
            current += character
    pieces.append(current)
    # A piece without "=" continues the previous key's list (``Values=a,b``).
    return [piece.split("=", 1)[0] for piece in pieces if "=" in piece]


def _members(service: str, operation: str) -> tuple[dict[str, bool], set[str]]:
    """Return ``--option -> takes a value`` and the required options of an operation."""
    shape = _session().get_service_model(service).operation_model(operation).input_shape
    options: dict[str, bool] = {}
    required: set[str] = set()
    if shape is None:
        return options, required
    for name, member in shape.members.items():
        option = "--" + xform_name(name, "-")
        boolean = member.type_name == "boolean"
        options[option] = not boolean
        if boolean:
            options["--no-" + xform_name(name, "-")] = False
        if name in shape.required_members:
            required.add(option)
    return options, required


@functools.cache
def _waiters(service: str) -> dict[str, str]:
    try:
        model = _session().get_waiter_model(service)
    except Exception:
        return {}
    return {xform_name(name, "-"): model.get_waiter(name).operation for name in model.waiter_names}


def problems(argv: Sequence[str]) -> list[str]:
    """Return why the AWS CLI would refuse ``argv`` (``["aws", "ecs", "run-task", ...]``)."""
    words = list(argv)
    if not words or words[0] != "aws" or len(words) < 3:
        return [f"not an aws <service> <operation> command: {words}"]
    service, command, rest = words[1], words[2], words[3:]
    if service not in _session().get_available_services():
        return [f"aws {service}: no such service"]
    required: set[str] = set()
    positional = POSITIONAL.get((service, command), 0)
    if (service, command) in CUSTOMIZATIONS:
        options = dict(CUSTOMIZATIONS[(service, command)])
    elif command == "wait":
        if not rest or rest[0] not in _waiters(service):
            return [f"aws {service} wait: no waiter {rest[:1]}"]
        options, required = _members(service, _waiters(service)[rest[0]])
        rest = rest[1:]
    elif command in _operations(service):
        options, required = _members(service, _operations(service)[command])
    else:
        return [f"aws {service} {command}: no such operation"]
    structures = (
        _shorthand_keys(service, _operations(service)[command])
        if command in _operations(service) and (service, command) not in CUSTOMIZATIONS
        else {}
    )
    options.update(GLOBAL_OPTIONS)
    found: list[str] = []
    seen: set[str] = set()
    index = 0
    while index < len(rest):
        word = rest[index]
        if not word.startswith("--"):
            if positional:
                positional -= 1
                index += 1
                continue
            found.append(f"aws {service} {command}: unexpected argument {word!r}")
            index += 1
            continue
        name, has_value, _ = word.partition("=")
        if name not in options:
            found.append(f"aws {service} {command}: no option {name}")
            index += 1
            continue
        seen.add(name.replace("--no-", "--", 1))
        index += 1
        given = [word.partition("=")[2]] if has_value else []
        if options[name] and not has_value:
            # A list member takes every value up to the next option.
            while index < len(rest) and not rest[index].startswith("--"):
                given.append(rest[index])
                index += 1
            if not given:
                found.append(f"aws {service} {command}: {name} needs a value")
        if name in structures:
            for key in (key for value in given for key in shorthand_keys(value)):
                if key not in structures[name]:
                    found.append(
                        f"aws {service} {command}: {name} has no key {key}"
                        f" (it takes {', '.join(sorted(structures[name]))})"
                    )
    found += [
        f"aws {service} {command}: {option} is required" for option in sorted(required - seen)
    ]
    return found


def option_values(argv: Sequence[str], option: str) -> list[str]:
    """Return the values given to ``option`` (a list option takes several)."""
    words = list(argv)
    values: list[str] = []
    for index, word in enumerate(words):
        if word == option:
            for value in words[index + 1 :]:
                if value.startswith("--"):
                    break
                values.append(value)
        elif word.startswith(option + "="):
            values.append(word.split("=", 1)[1])
    return values


def option_value(argv: Sequence[str], option: str) -> str | None:
    """Return the one value given to ``option`` (the next word), or None."""
    words = list(argv)
    return words[words.index(option) + 1] if option in words[:-1] else None
