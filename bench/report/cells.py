"""Format numbers, verdicts and Markdown tables the same way in every part of the report."""

from __future__ import annotations

#: Compared in place of a measurement that is missing, so an upper bound is not met.
MISSING = 1e9


def number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def met(condition: bool | None) -> str:
    if condition is None:
        return "pending"
    return "**met**" if condition else "**not met**"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]
