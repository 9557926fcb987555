"""The simulated site of bench/bench_revisit.py: its cases on disk, the changes made to it
between runs, which of them the warehouse shows, and what each request at the server was."""

from __future__ import annotations

import json
import random
import re
import shutil
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

OTHER_LANGS = ("es", "pt")
CASE_PATH = re.compile(r"^/([a-z]{2})/case/(\d+)/?$")
# Request kinds whose number grows with the site's cases (scaled), and those that do not.
SCALED_KINDS = ("page", "translation", "gap")


class Site:
    """The cases on disk (English first), es/pt pages held back as translations to come."""

    def __init__(self, root: Path, rng: random.Random, languages: tuple[str, ...]) -> None:
        self.root, self.rng, self.languages = root, rng, languages
        self.cases = root / "en" / "case"
        self.titles: dict[int, str] = {}  # as the HTML shows them
        for page in self.cases.glob("*/expected.json"):
            title = json.loads(page.read_text(encoding="utf-8"))["title"]
            self.titles[int(page.parent.name)] = title.replace("'", "&#39;")
        self.changes: list[dict[str, Any]] = []
        self.stash = root.parent / "untranslated"

    def hold_back_translations(self, share: float) -> int:
        """Keep es/pt only for ``share`` of the cases; the others' pages wait in a stash,
        from which ``translate`` publishes one now and then. Returns the cases translated."""
        others = [lang for lang in self.languages if lang in OTHER_LANGS]
        keep = set(self.rng.sample(sorted(self.titles), round(len(self.titles) * share)))
        for lang in others:
            (self.stash / lang).mkdir(parents=True, exist_ok=True)
        for cid in sorted(set(self.titles) - keep):
            for lang in others:
                page = self.root / lang / "case" / str(cid)
                if page.is_dir():
                    shutil.move(str(page), str(self.stash / lang / str(cid)))
        return len(keep) if others else 0

    def edit(self, when: datetime) -> None:
        cid = self.rng.choice(sorted(self.titles))
        page = self.cases / str(cid) / "index.html"
        new = f"Edited council {cid} {len(self.changes)}"
        try:
            text = page.read_text(encoding="utf-8")
        except UnicodeDecodeError:  # a page in another charset: edit another one
            return self.edit(when)
        if self.titles[cid] not in text:
            return self.edit(when)
        page.write_text(text.replace(self.titles[cid], new), encoding="utf-8")
        self.titles[cid] = new
        self.changes.append({"kind": "edit", "case": cid, "at": when, "title": new})

    def add(self, when: datetime, *, past_highest: bool) -> None:
        """A new case, copied from the first of its prefix in every language that one has."""
        prefix = self.rng.choice(sorted({cid // 1000 for cid in self.titles}))
        mine = sorted(cid for cid in self.titles if cid // 1000 == prefix)
        if past_highest:
            cid = mine[-1] + 1
            kind = "add past highest"
        else:
            gaps = sorted(set(range(prefix * 1000 + 1, mine[-1])) - set(mine) - self.removed())
            if not gaps:
                return
            cid = self.rng.choice(gaps)
            kind = "add in a gap"
        for lang in self.languages:
            source = self.root / lang / "case" / str(mine[0])
            if source.is_dir():
                shutil.copytree(source, self.root / lang / "case" / str(cid))
        self.titles[cid] = self.titles[mine[0]]
        self.changes.append({"kind": kind, "case": cid, "at": when})

    def remove(self, when: datetime) -> None:
        cid = self.rng.choice(sorted(self.titles))
        for lang in self.languages:
            shutil.rmtree(self.root / lang / "case" / str(cid), ignore_errors=True)
        del self.titles[cid]
        self.changes.append({"kind": "removal", "case": cid, "at": when})

    def translate(self, when: datetime) -> None:
        """A held-back es/pt page of a known case published."""
        waiting = sorted(
            (lang, int(page.name))
            for lang in OTHER_LANGS
            if (self.stash / lang).is_dir()
            for page in (self.stash / lang).iterdir()
            if int(page.name) in self.titles
        )
        if not waiting:
            return
        lang, cid = self.rng.choice(waiting)
        shutil.move(str(self.stash / lang / str(cid)), str(self.root / lang / "case" / str(cid)))
        self.changes.append({"kind": "new translation", "case": cid, "lang": lang, "at": when})

    def removed(self) -> set[int]:
        return {c["case"] for c in self.changes if c["kind"] == "removal"}

    def classify(self, paths: dict[str, int]) -> Counter[str]:
        """What the requests of a run were, by the site as it was during the run: a page that
        is there, a language a case lacks, an id in a gap below the highest serial of its
        prefix, a probe past it, anything else (robots.txt)."""
        highest: dict[int, int] = {}
        for cid in self.titles:
            highest[cid // 1000] = max(highest.get(cid // 1000, 0), cid)
        kinds: Counter[str] = Counter()
        for path, count in paths.items():
            match = CASE_PATH.match(path)
            if match is None:
                kinds["other"] += count
                continue
            lang, cid = match.group(1), int(match.group(2))
            if (self.root / lang / "case" / str(cid)).is_dir():
                kinds["page"] += count
            elif cid in self.titles:
                kinds["translation"] += count
            elif cid <= highest.get(cid // 1000, 0):
                kinds["gap"] += count
            else:
                kinds["past end"] += count
        return kinds


def mark_seen(db: Path, site: Site, now: datetime) -> None:
    """Mark every change the warehouse now shows with the run that showed it first."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT case_id, title, status FROM cases").fetchall()
        texts = set(con.execute("SELECT case_id, lang FROM case_texts").fetchall())
    cases = {cid: (title, status) for cid, title, status in rows}
    for change in site.changes:
        if "seen" in change:
            continue
        row = cases.get(change["case"])
        kind = change["kind"]
        if kind == "edit":
            expected = change["title"]
            if row and row[0] == expected and site.titles.get(change["case"]) == expected:
                change["seen"] = now
            elif site.titles.get(change["case"]) != expected:
                change["seen"] = None  # edited again or removed before seen: not counted
        elif kind == "new translation":
            if (change["case"], change["lang"]) in texts:
                change["seen"] = now
            elif change["case"] not in site.titles:
                change["seen"] = None  # the case was removed first
        elif (kind.startswith("add") and row and row[1] == "active") or (
            kind == "removal" and row and row[1] == "withdrawn"
        ):
            change["seen"] = now
