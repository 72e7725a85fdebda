"""What ``keel preflight`` reports: a finding per check, and the report a person reads."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One line of the report: what was checked, whether it passed, and how to fix it."""

    name: str
    ok: bool
    detail: str = ""
    fix: str = ""
    skipped: bool = False


def format_report(findings: list[Finding]) -> str:
    """Render the pass/fail report, each failure followed by its fix."""
    lines = ["keel preflight"]
    for finding in findings:
        status = "SKIP" if finding.skipped else ("PASS" if finding.ok else "FAIL")
        lines.append(
            f"  {status}  {finding.name}" + (f": {finding.detail}" if finding.detail else "")
        )
        if finding.fix:
            fix_lines = finding.fix.splitlines()
            lines.append(f"        fix: {fix_lines[0]}")
            lines.extend(f"        {line}" for line in fix_lines[1:])
    failed = [finding for finding in findings if not finding.ok]
    if failed:
        lines.append(f"preflight FAILED: {len(failed)} of {len(findings)} checks did not pass")
    else:
        lines.append(f"preflight passed: {len(findings)} checks")
    return "\n".join(lines)
