"""Check a ``pulumi`` command line against the Pulumi CLI's commands and flags.

There is no Pulumi CLI here, so the commands keel's docs use are listed with their flags
as the CLI reference gives them (https://www.pulumi.com/docs/iac/cli/commands/, v3):
each flag with whether it takes a value, and how many positional arguments a command
takes. A command or flag not listed is refused, so a typo in a doc fails its test.
"""

from __future__ import annotations

from collections.abc import Sequence

#: Flags every command takes (inherited from ``pulumi``).
GLOBAL_FLAGS = {"--cwd": True, "-C": True, "--non-interactive": False, "--color": True}
STACK = {"--stack": True, "-s": True}
UPDATE = {
    **STACK,
    "--policy-pack": True,
    "--policy-pack-config": True,
    "--target": True,
    "-t": True,
    "--target-dependents": False,
    "--refresh": False,
    "-r": False,
    "--diff": False,
    "--config": True,
    "-c": True,
    "--message": True,
    "-m": True,
    "--parallel": True,
    "-p": True,
}
#: (command words) -> (flags, most positional arguments).
COMMANDS: dict[tuple[str, ...], tuple[dict[str, bool], int]] = {
    ("login",): (
        {"--cloud-url": True, "-c": True, "--default-org": True, "--insecure": False, "--local": False},
        1,
    ),
    ("logout",): ({"--all": False, "--local": False}, 1),
    ("stack", "init"): (
        {**STACK, "--secrets-provider": True, "--copy-config-from": True, "--no-select": False},
        1,
    ),
    ("stack", "select"): ({**STACK, "--create": False, "-c": False, "--secrets-provider": True}, 1),
    ("stack", "output"): ({**STACK, "--json": False, "-j": False, "--show-secrets": False, "--shell": False}, 1),
    ("stack", "rm"): ({**STACK, "--force": False, "--yes": False, "-y": False, "--preserve-config": False}, 1),
    ("stack", "history"): ({**STACK, "--json": False, "--show-secrets": False, "--full-dates": False}, 0),
    ("stack", "change-secrets-provider"): (dict(STACK), 1),
    ("config", "set"): ({**STACK, "--path": False, "--secret": False, "--plaintext": False, "--type": True}, 2),
    ("up",): ({**UPDATE, "--yes": False, "-y": False, "--skip-preview": False, "-f": False}, 1),
    ("preview",): ({**UPDATE, "--expect-no-changes": False}, 0),
    ("refresh",): ({**STACK, "--yes": False, "-y": False, "--skip-preview": False, "--target": True}, 0),
    ("destroy",): ({**STACK, "--yes": False, "-y": False, "--skip-preview": False, "--target": True}, 0),
    ("state", "unprotect"): ({**STACK, "--all": False, "--yes": False, "-y": False}, 1),
    ("state", "delete"): ({**STACK, "--force": False, "--yes": False, "-y": False}, 1),
}  # fmt: skip


def problems(argv: Sequence[str]) -> list[str]:
    """Return why the Pulumi CLI would refuse ``argv`` (``["pulumi", "up", ...]``)."""
    words = list(argv)
    if not words or words[0] != "pulumi":
        return [f"not a pulumi command: {words}"]
    command = next(
        (name for name in sorted(COMMANDS, key=len, reverse=True) if tuple(words[1 : 1 + len(name)]) == name),
        None,
    )  # fmt: skip
    if command is None:
        return [f"pulumi {' '.join(words[1:3])}: no such command"]
    flags, most = COMMANDS[command]
    flags = {**flags, **GLOBAL_FLAGS}
    label = "pulumi " + " ".join(command)
    found: list[str] = []
    positional = 0
    rest = words[1 + len(command) :]
    index = 0
    while index < len(rest):
        word = rest[index]
        index += 1
        if not word.startswith("-"):
            positional += 1
            continue
        name, has_value, _ = word.partition("=")
        if name not in flags:
            found.append(f"{label}: no flag {name}")
        elif flags[name] and not has_value:
            if index >= len(rest):
                found.append(f"{label}: {name} needs a value")
            index += 1
    if positional > most:
        found.append(f"{label}: at most {most} arguments, not {positional}")
    return found
