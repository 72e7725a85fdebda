"""EventBridge schedule expressions as the cron DBOS schedules workflows with.

DBOS takes croniter's six-field form, seconds first (``dbos._scheduler`` validates with
``croniter.is_valid(schedule, second_at_beginning=True)``), with an optional year last.
EventBridge writes ``rate(5 minutes)`` or ``cron(Minutes Hours Day-of-month Month
Day-of-week Year)``, where one of the two day fields is ``?`` and days of the week count
from 1 (SUN) where cron counts from 0. Both are translated exactly or refused with the
reason: a schedule that fires at other times than it did on Lambda is worse than none.

- ``rate``: every N minutes where N divides an hour, every N hours where N divides a day,
  every day. A rate fires at aligned times here (``rate(15 minutes)`` at :00, :15, ...),
  where EventBridge counts from when the rule was created.
- ``cron``: ``*``, ``,``, ``-``, ``/``, names (``MON``, ``JAN``), ``?``, ``L`` (last day
  of the month, last given weekday ``6L``), ``W`` (nearest weekday ``15W``) and ``#``
  (``2#1``, the first Monday). Refused: ``LW`` and ``L-n``, which croniter cannot express.
"""

from __future__ import annotations

import re

from croniter import croniter

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minutes?|hours?|days?)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_DOW_NUMBER = re.compile(r"(?<![#/\d])([1-7])(?!\d)")


def cron_of(expression: str) -> str:
    """Return ``expression`` as DBOS's cron, or raise ``ValueError`` saying why not."""
    expression = expression.strip()
    rate = _RATE.match(expression)
    if rate:
        return _rate_cron(int(rate[1]), rate[2].rstrip("s"), expression)
    cron = _CRON.match(expression)
    if cron:
        return _aws_cron(cron[1].split(), expression)
    raise ValueError(
        f"schedule expression {expression!r} is neither rate(value unit) nor cron(fields)"
    )


def _rate_cron(value: int, unit: str, expression: str) -> str:
    if value < 1:
        raise ValueError(f"{expression}: the value must be at least 1")
    minutes = value * {"minute": 1, "hour": 60, "day": 1440}[unit]
    if minutes < 60 and 60 % minutes == 0:
        return "0 * * * * *" if minutes == 1 else f"0 */{minutes} * * * *"
    if minutes % 60 == 0 and minutes < 1440 and 24 % (minutes // 60) == 0:
        hours = minutes // 60
        return "0 0 * * * *" if hours == 1 else f"0 0 */{hours} * * *"
    if minutes == 1440:
        return "0 0 0 * * *"
    raise ValueError(
        f"{expression} has no exact cron form (a cron repeats within each hour, day or "
        "month); write it as cron(...) with the times it should fire"
    )


def _aws_cron(fields: list[str], expression: str) -> str:
    if len(fields) != 6:
        raise ValueError(
            f"{expression}: EventBridge's cron has six fields (minutes hours day-of-month "
            f"month day-of-week year), not {len(fields)}"
        )
    minutes, hours, day_of_month, month, day_of_week, year = (field.upper() for field in fields)
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ValueError(f"{expression}: exactly one of day-of-month and day-of-week must be ?")
    for field, text in (("day-of-month", day_of_month), ("day-of-week", day_of_week)):
        if "LW" in text or re.search(r"L-\d", text):
            raise ValueError(f"{expression}: {field} {text!r} (LW, L-n) is not supported")
    if "?" in (minutes, hours, month, year):
        raise ValueError(f"{expression}: ? is allowed in the day fields only")
    parts = [
        "0",
        minutes,
        hours,
        "*" if day_of_month == "?" else day_of_month,
        month,
        "*" if day_of_week == "?" else _day_of_week(day_of_week),
    ]
    if year != "*":
        parts.append(year)
    cron = " ".join(parts)
    if not croniter.is_valid(cron, second_at_beginning=True):
        raise ValueError(f"{expression} is not a valid cron expression")
    return cron


def _day_of_week(text: str) -> str:
    """EventBridge counts weekdays 1-7 from Sunday, cron 0-6; ``6L`` is cron's ``L5``."""
    shifted = _DOW_NUMBER.sub(lambda found: str(int(found[1]) - 1), text)
    return re.sub(r"(\d)L", r"L\1", shifted)
