"""What changed, written out: ``CHANGES.md`` and ``changes.csv`` of a release, and
``latinno changes`` (``--since`` a release, run or date; a table, CSV or JSON)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from latinno.columns import of_kind
from latinno.record import CASE_COLUMNS
from latinno.release.errors import ReleaseError
from latinno.release.folders import list_releases
from latinno.release.snapshot import data_time, read_runs
from latinno.release.states import (
    HEADER,
    Change,
    Counts,
    States,
    count_changes,
    current_states_db,
    diff_states,
    release_states,
    states_at,
)
from latinno.release.tabular import CsvDialect, csv_bytes

# Written as they are: JSON text (lists, sources), true/false (flags) and the status word.
_AS_IS = frozenset(
    ("status", *(c.name for c in of_kind(CASE_COLUMNS, "codes", "sources", "sections", "flag")))
)
MD_VALUE_CHARS = 300


def changes_csv(rows: Sequence[Change], dialect: CsvDialect) -> bytes:
    return csv_bytes(HEADER, (c.row() for c in rows), dialect)


def _md(text: str) -> str:
    # Only what would change how a list line renders; the file stays readable as plain text.
    for char in ("*", "`", "<", ">"):
        text = text.replace(char, "\\" + char)
    return text


def _md_value(field: str, value: str | None) -> str:
    if value is None:
        return "(none)"
    shown = value if field in _AS_IS else None
    if shown is None:
        shown = json.dumps(value, ensure_ascii=False)  # quoted, line breaks as \n
    if len(shown) > MD_VALUE_CHARS:
        shown = shown[: MD_VALUE_CHARS - 1] + "…"
    return _md(shown)


def _md_title(title: str | None) -> str:
    return _md(re.sub(r"\s+", " ", title)) if title else "(no title)"


def changes_md(
    rows: Sequence[Change], version: str, previous: str | None, previous_created: str | None
) -> bytes:
    lines = [f"# Changes in LATINNO release {version}", ""]
    if previous is None:
        lines += [
            "First release: there is no earlier release to compare with. "
            "`changes.csv` has its header only.",
            "",
        ]
        return "\n".join(lines).encode("utf-8")
    counts = count_changes(rows)
    lines += [
        f"Compared with release {previous} (data as of {previous_created}).",
        "",
        f"- {counts.added} added",
        f"- {counts.withdrawn} withdrawn",
    ]
    if counts.reactivated:
        lines.append(f"- {counts.reactivated} reactivated (back on the site)")
    plural = "" if counts.fields == 1 else "s"
    lines.append(f"- {counts.changed} changed ({counts.fields} field{plural})")
    if counts.removed:
        lines.append(f"- {counts.removed} in the earlier release but missing from this data")
    lines += [
        "",
        "The same, one row per case and field, is in `changes.csv` (values shortened here with "
        "… are whole there).",
        "",
    ]
    titles = {
        "added": "Added",
        "withdrawn": "Withdrawn",
        "reactivated": "Reactivated",
        "removed": "Missing from this data",
    }
    for kind, heading in titles.items():
        if kind == "removed":
            continue
        listed = [c for c in rows if c.change == kind]
        if listed:
            lines += [f"## {heading} ({len(listed)})", ""]
            lines += [f"- {c.case_id} {_md_title(c.title)}" for c in listed] + [""]
    changed = [c for c in rows if c.change == "changed"]
    if changed:
        lines += [f"## Changed ({counts.changed})", ""]
        current = None
        for c in changed:
            if c.case_id != current:
                if current is not None:
                    lines.append("")
                lines.append(f"### {c.case_id} {_md_title(c.title)}")
                lines.append("")
                current = c.case_id
            field = c.field or ""
            old, new = _md_value(field, c.old_value), _md_value(field, c.new_value)
            lines.append(f"- {field}: {old} → {new}")
        lines.append("")
    removed = [c for c in rows if c.change == "removed"]
    if removed:
        lines += [f"## {titles['removed']} ({len(removed)})", ""]
        lines += [f"- {c.case_id} {_md_title(c.title)}" for c in removed] + [""]
    return "\n".join(lines).encode("utf-8")


# --- latinno changes --since -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Baseline:
    label: str  # what the changes are counted from, for the header line
    states: States


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _run_cutoff(con: duckdb.DuckDBPyConnection, run_id: str) -> datetime | None:
    """The end of a run: its finish, or the latest version or start it left."""
    row = con.execute(
        "SELECT started_at, finished_at, "
        "(SELECT max(valid_from) FROM case_history WHERE run_id = $run) "
        "FROM runs WHERE run_id = $run",
        {"run": run_id},
    ).fetchone()
    if row is None:
        return None
    newest: datetime = max(t for t in row if t is not None)
    return newest


def _as_moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def resolve_since(
    con: duckdb.DuckDBPyConnection, since: str | None, releases_dir: Path
) -> Baseline:
    """What ``--since`` names: a release in ``releases_dir``, a run id, or a date/time (UTC).

    Without it: the state after the previous run, i.e. what the latest run changed.
    """
    if since is None:
        runs = read_runs(con)
        if len(runs) < 2:
            what = "only one run so far" if runs else "no run recorded"
            return Baseline(f"the start ({what})", {})
        previous = runs[-2]
        cutoff = _run_cutoff(con, previous.run_id)
        assert cutoff is not None
        return Baseline(
            f"the previous run {previous.run_id} ({_iso(cutoff)})",
            states_at(con, cutoff, inclusive=True),
        )
    since = since.strip()
    by_name = {r.name: r for r in list_releases(releases_dir)}
    if since in by_name:
        release = by_name[since]
        return Baseline(
            f"release {since} (data as of {_iso(release.created)})", release_states(release)
        )
    cutoff = _run_cutoff(con, since)
    if cutoff is not None:
        return Baseline(f"run {since} ({_iso(cutoff)})", states_at(con, cutoff, inclusive=True))
    moment = _as_moment(since)
    if moment is not None:
        return Baseline(f"{_iso(moment)}", states_at(con, moment, inclusive=False))
    raise ReleaseError(
        f"--since {since!r}: no release in {releases_dir}, no run and not a date by that name; "
        'expected a date (2026-03-02), a run id (latinno query "SELECT run_id FROM runs") '
        "or a release version"
    )


@dataclass(frozen=True, slots=True)
class ChangeReport:
    since: str
    until: str
    rows: list[Change]

    @property
    def counts(self) -> Counts:
        return count_changes(self.rows)


def changes_since(
    con: duckdb.DuckDBPyConnection, since: str | None, releases_dir: Path, db_label: str
) -> ChangeReport:
    total = con.execute("SELECT count(*) FROM cases").fetchone()
    if not total or not total[0]:
        raise ReleaseError(f"{db_label}: the warehouse holds no cases; run `latinno refresh` first")
    baseline = resolve_since(con, since, releases_dir)
    now = data_time(con, read_runs(con))
    until = _iso(now) if now else "now"
    return ChangeReport(baseline.label, until, diff_states(baseline.states, current_states_db(con)))


def _one_line(value: str | None) -> str:
    return "" if value is None else re.sub(r"\s*[\r\n]+\s*", " ↵ ", value)


def render(report: ChangeReport, fmt: str, width: int | None = None) -> str:
    """The report as a table (fits ``width`` columns, 80 when not a terminal), CSV or JSON."""
    if fmt == "csv":
        return csv_bytes(HEADER, (c.row() for c in report.rows)).decode("utf-8")
    if fmt == "json":
        data = {
            "since": report.since,
            "until": report.until,
            "counts": {
                "added": report.counts.added,
                "withdrawn": report.counts.withdrawn,
                "reactivated": report.counts.reactivated,
                "changed": report.counts.changed,
                "changed_fields": report.counts.fields,
                "removed": report.counts.removed,
            },
            "changes": [dict(zip(HEADER, c.row(), strict=True)) for c in report.rows],
        }
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=width or 80, no_color=True, highlight=False)
    buffer.write(f"Since {report.since}\nUntil the data of {report.until}\n")
    buffer.write(report.counts.line() + ".\n")
    if report.rows:
        rows = [
            (
                str(c.case_id),
                c.change,
                c.field or "",
                _one_line(c.old_value),
                _one_line(c.new_value if c.field else c.title),
            )
            for c in report.rows
        ]
        heads = ("case", "change", "field", "old", "new")
        fixed = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads[:3])]
        # The rest of the line goes to old and new, evenly; a longer value wraps onto more
        # lines, whole: two values cut to the same prefix would hide the change itself.
        room = max((width or 80) - sum(fixed) - 2 * (len(heads) - 1), 20)
        widths = (*fixed, room // 2, room - room // 2)
        table = Table(box=None, pad_edge=False, show_edge=False, padding=(0, 1, 0, 1))
        for position, (head, size) in enumerate(zip(heads, widths, strict=True)):
            if position < len(fixed):
                table.add_column(head, width=size, no_wrap=True)
            else:
                table.add_column(head, width=size, overflow="fold")
        for row in rows:
            table.add_row(*row)
        console.print(table)
    return buffer.getvalue()
