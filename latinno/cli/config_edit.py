"""Writing a learnt marker into config.yaml by a careful text edit: every other line, comment
and key order stays as the person wrote it (a YAML round trip would not keep them all).

The ``parser.marker`` block replaces an existing ``parser.marker`` or ``parser.active_classes``
entry where it stands (comments around it stay), or goes first in the ``parser`` section, or
in a new ``parser`` section at the end. The result is
read back and must give the rule written; otherwise the file is left as it was.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from latinno.config import load_settings
from latinno.errors import ConfigError
from latinno.marker import Marker

NOTE = "# learnt by `latinno calibrate`"
_TOP = re.compile(r"^[^\s#][^:]*:")
_PARSER = re.compile(r"^parser\s*:\s*(#.*)?$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def marker_block(rule: Marker, indent: str, note: str) -> list[str]:
    """The ``marker:`` entry, as YAML lines at ``indent``."""
    lines = [f"{indent}{NOTE} {note}", f"{indent}marker:", f"{indent}  kind: {rule.kind}"]
    if rule.name:
        lines.append(f"{indent}  name: {json.dumps(rule.name)}")
    values = ", ".join(json.dumps(v, ensure_ascii=False) for v in rule.values)
    lines += [f"{indent}  values: [{values}]", f"{indent}  marks: {rule.marks}"]
    return lines


def _section(lines: list[str]) -> tuple[int, int] | None:
    """(index of the ``parser:`` line, index one past its section), or None."""
    start = next((i for i, line in enumerate(lines) if _PARSER.match(line)), None)
    if start is None:
        return None
    end = start + 1
    while end < len(lines) and not _TOP.match(lines[end]):
        end += 1
    return start, end


def _entry(lines: list[str], start: int, end: int, key: str) -> tuple[int, int, int] | None:
    """(first line, one past the last, indent) of ``key`` in the section, with its nested
    lines."""
    pattern = re.compile(rf"^(\s+){re.escape(key)}\s*:")
    for index in range(start + 1, end):
        found = pattern.match(lines[index])
        if not found:
            continue
        indent = len(found.group(1))
        stop = index + 1
        while stop < end and (not lines[stop].strip() or _indent(lines[stop]) > indent):
            if not lines[stop].strip() and (stop + 1 >= end or _indent(lines[stop + 1]) <= indent):
                break
            stop += 1
        # A note an earlier calibration wrote above it is replaced with it; other comments stay.
        first = index - 1 if lines[index - 1].strip().startswith(NOTE) else index
        return first, stop, indent
    return None


def _child_indent(lines: list[str], start: int, end: int) -> int:
    for line in lines[start + 1 : end]:
        if line.strip() and not line.strip().startswith("#"):
            return _indent(line)
    return 2


def with_marker(text: str, rule: Marker, note: str) -> str:
    """``text`` (config.yaml) with ``parser.marker`` set to ``rule``."""
    lines = text.splitlines()
    section = _section(lines)
    if section is None:
        block = marker_block(rule, "  ", note)
        tail = [""] if lines and lines[-1].strip() else []
        return "\n".join([*lines, *tail, "parser:", *block]) + "\n"
    start, end = section
    found = [e for e in (_entry(lines, start, end, k) for k in ("marker", "active_classes")) if e]
    if found:
        # The later entry goes first, so the earlier one's line numbers still hold.
        found.sort(reverse=True)
        for first, stop, _indent_of in found[:-1]:
            del lines[first:stop]
        first, stop, indent = found[-1]
        lines[first:stop] = marker_block(rule, " " * indent, note)
    else:
        child = " " * _child_indent(lines, start, end)
        lines[start + 1 : start + 1] = marker_block(rule, child, note)
    return "\n".join(lines) + "\n"


def write_marker(path: Path, rule: Marker, note: str) -> None:
    """Set ``parser.marker`` in the config file at ``path`` (created if missing)."""
    try:
        old = path.read_text(encoding="utf-8") if path.exists() else ""
    except OSError as exc:
        raise ConfigError(str(path), "(file)", f"cannot read: {exc.strerror}") from None
    new = with_marker(old, rule, note)
    try:
        path.write_text(new, encoding="utf-8")
        if load_settings(path, env={}).parser.rule() == rule:
            return
        problem = "the file does not give the rule written after the edit"
    except ConfigError as exc:
        problem = f"the edit made the file invalid ({exc.problem})"
    except OSError as exc:
        raise ConfigError(str(path), "parser.marker", f"cannot write: {exc.strerror}") from None
    path.write_text(old, encoding="utf-8")
    raise ConfigError(str(path), "parser.marker", f"{problem}; left unchanged, set it by hand")
