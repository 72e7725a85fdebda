"""EventBridge schedule expressions become the cron DBOS runs, or are refused with why.

Each translation is checked by the times croniter (DBOS's parser) gives for it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from croniter import croniter

from keel.lambdas.schedules import cron_of


def fires(cron: str, start: datetime, count: int = 3) -> list[str]:
    assert croniter.is_valid(cron, second_at_beginning=True)
    it = croniter(cron, start, second_at_beginning=True)
    return [it.get_next(datetime).strftime("%a %Y-%m-%d %H:%M:%S") for _ in range(count)]


START = datetime(2026, 12, 20, 0, 0, 30, tzinfo=UTC)  # a Sunday


@pytest.mark.parametrize(
    ("expression", "cron"),
    [
        ("rate(1 minute)", "0 * * * * *"),
        ("rate(5 minutes)", "0 */5 * * * *"),
        ("rate(60 minutes)", "0 0 * * * *"),
        ("rate(1 hour)", "0 0 * * * *"),
        ("rate(6 hours)", "0 0 */6 * * *"),
        ("rate(1 day)", "0 0 0 * * *"),
        ("cron(0 2 * * ? *)", "0 0 2 * * *"),
        ("cron(15 10 ? * 6L 2026-2030)", "0 15 10 * * L5 2026-2030"),
    ],
)
def test_expressions_translate_exactly(expression: str, cron: str) -> None:
    assert cron_of(expression) == cron


def test_days_of_the_week_count_from_sunday_as_one() -> None:
    # EventBridge: 1 = SUN ... 7 = SAT. cron(0 12 ? * 2-6 *) is weekdays at noon.
    assert fires(cron_of("cron(0 12 ? * 2-6 *)"), START) == [
        "Mon 2026-12-21 12:00:00",
        "Tue 2026-12-22 12:00:00",
        "Wed 2026-12-23 12:00:00",
    ]
    assert fires(cron_of("cron(0 12 ? * MON-FRI *)"), START, 1) == ["Mon 2026-12-21 12:00:00"]


def test_hash_last_and_nearest_weekday() -> None:
    # 2#1: the first Monday; 6L: the last Friday; L: the last day; 16W: nearest weekday.
    assert fires(cron_of("cron(0 9 ? * 2#1 *)"), START, 2) == [
        "Mon 2027-01-04 09:00:00",
        "Mon 2027-02-01 09:00:00",
    ]
    assert fires(cron_of("cron(0 9 ? * 6L *)"), START, 2) == [
        "Fri 2026-12-25 09:00:00",
        "Fri 2027-01-29 09:00:00",
    ]
    assert fires(cron_of("cron(0 9 L * ? *)"), START, 2) == [
        "Thu 2026-12-31 09:00:00",
        "Sun 2027-01-31 09:00:00",
    ]
    # 16 January 2027 is a Saturday: the nearest weekday is Friday the 15th.
    assert fires(cron_of("cron(0 9 16W * ? *)"), START, 1) == ["Fri 2027-01-15 09:00:00"]


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("rate(7 minutes)", "no exact cron form"),
        ("rate(5 hours)", "no exact cron form"),
        ("rate(2 days)", "no exact cron form"),
        ("rate(0 minutes)", "at least 1"),
        ("cron(0 12 * * *)", "six fields"),
        ("cron(0 12 * * 1 *)", "exactly one of day-of-month and day-of-week must be ?"),
        ("cron(0 12 ? * ? *)", "exactly one"),
        ("cron(0 12 LW * ? *)", "not supported"),
        ("cron(0 12 L-2 * ? *)", "not supported"),
        ("cron(0 ? * * ? *)", "day fields only"),
        ("cron(0 25 * * ? *)", "not a valid cron"),
        ("at(2026-12-24T18:00:00)", "neither rate"),
    ],
)
def test_what_cannot_be_translated_exactly_is_refused_with_the_reason(
    expression: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        cron_of(expression)
