"""Cron expressions as ``schedule.cron`` takes them, checked when config.yaml is read (so a bad
one is one line naming the setting, not a traceback from Prefect when ``latinno serve`` starts).

Five fields: minute, hour, day of month, month, day of week; each ``*``, a number, a range
``a-b``, any of these with a step ``/n``, or a list of them by commas; months and weekdays may
be named (jan, mon). Day of week 7 is Sunday, as 0 is.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CronField:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # jan..dec or sun..sat, numbered from ``low``


CRON_FIELDS = (
    CronField("minute", 0, 59),
    CronField("hour", 0, 23),
    CronField("day of month", 1, 31),
    CronField(
        "month",
        1,
        12,
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    ),
    CronField("day of week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)


def _cron_number(text: str, field: CronField) -> int | None:
    if text.isdigit():
        return int(text)
    if text.lower() in field.names:
        return field.names.index(text.lower()) + field.low
    return None


def cron_field_problem(text: str, field: CronField) -> str | None:
    """Why ``text`` is no cron ``field`` (``*``, ``n``, ``a-b``, any of them ``/step``, lists
    of them by commas, names for months and weekdays), or None."""
    for part in text.split(","):
        base, _, step = part.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            return f"{field.name} '{part}': the step after / must be a positive number"
        if base in ("*", "?"):
            continue
        ends = base.split("-")
        numbers = [_cron_number(end, field) for end in ends]
        if len(ends) > 2 or None in numbers:
            return f"{field.name} '{part}' is not a number, range or '*'"
        for number in numbers:
            assert number is not None
            if not field.low <= number <= field.high:
                return f"{field.name} {number} is outside {field.low}-{field.high}"
    return None
