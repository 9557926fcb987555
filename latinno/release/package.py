"""``datapackage.json`` (Frictionless) and ``CITATION.cff`` of a release; its schemas and
resources are those of ``latinno export`` (``warehouse.datapackage``).

Nothing here reads the clock: ``created`` and ``date-released`` are the data's time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from latinno.release.snapshot import Run
from latinno.release.statfiles import StatVariable

CITATION = "Pogrebinschi, Thamy. (2017). LATINNO Dataset. Berlin: WZB."
SITE = "https://latinno.net"
TITLE = "LATINNO: Innovations for Democracy in Latin America (case data)"


def stat_schema(variables: Sequence[StatVariable], spss: bool) -> dict[str, Any]:
    fields = []
    for v in variables:
        kind = {"coded": "integer", "dummy": "integer", "integer": "integer"}.get(
            v.kind, {"number": "number", "datetime": "datetime"}.get(v.kind, "string")
        )
        entry: dict[str, Any] = {
            "name": v.name,
            "type": kind,
            "description": v.spss_label if spss else v.stata_label,
        }
        if v.name != v.column:
            entry["source_column"] = v.column
        fields.append(entry)
    return {"fields": fields, "primaryKey": ["case_id"]}


def _license(text: str) -> dict[str, str]:
    if text.startswith(("http://", "https://")):
        return {"path": text, "title": text}
    return {"name": text, "title": text}


def _iso(moment: Any) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def sources(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """One source per site fetched, with the runs that fetched it."""
    by_site: dict[str, list[Run]] = {}
    for run in runs:
        by_site.setdefault(run.base_url or SITE, []).append(run)
    if not by_site:
        by_site[SITE] = []
    out = []
    for site, site_runs in sorted(by_site.items()):
        entry: dict[str, Any] = {
            "title": "LATINNO case pages (WZB Berlin Social Science Center)",
            "path": site,
        }
        if site_runs:
            entry["description"] = (
                f"Fetched by {len(site_runs)} refresh run{'s' if len(site_runs) != 1 else ''}, "
                f"{_iso(site_runs[0].started_at)} to "
                f"{_iso(site_runs[-1].finished_at or site_runs[-1].started_at)}."
            )
            entry["runs"] = [
                {
                    "run_id": r.run_id,
                    "started_at": _iso(r.started_at),
                    "finished_at": _iso(r.finished_at),
                }
                for r in site_runs
            ]
        out.append(entry)
    return out


def datapackage(
    *,
    version: str,
    created: str,
    license: str | None,
    runs: Sequence[Run],
    pipeline_version: str,
    resources: list[dict[str, Any]],
) -> bytes:
    package: dict[str, Any] = {
        "profile": "data-package",
        "name": "latinno",
        "title": TITLE,
        "description": (
            "Cases of democratic innovation published by LATINNO (WZB Berlin Social Science "
            "Center), one row per case, coded with the vocabulary in vocabulary.csv; see "
            "codebook.md for every variable and CHANGES.md for what changed since the previous "
            f"release. Cite as: {CITATION}"
        ),
        "version": version,
        "created": created,
        "homepage": SITE,
        "citation": CITATION,
        "keywords": ["democratic innovation", "participation", "Latin America", "LATINNO"],
    }
    if license:
        package["licenses"] = [_license(license)]
    package["sources"] = sources(runs)
    package["contributors"] = [
        {
            "title": "Thamy Pogrebinschi",
            "role": "author",
            "organization": "WZB Berlin Social Science Center",
        },
        {"title": "WZB Berlin Social Science Center", "role": "publisher", "path": SITE},
        {
            "title": f"latinno-pipeline {pipeline_version}",
            "role": "wrangler",
            "description": "Fetched, parsed and packaged the case pages into this release.",
        },
    ]
    package["resources"] = resources
    return (json.dumps(package, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted one


def _spdx(text: str) -> list[str] | None:
    """The SPDX identifiers of a licence expression (``MIT OR Apache-2.0``: either), or None
    when it is not one; CITATION.cff's ``license`` takes nothing else."""
    from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

    try:
        canonical = canonicalize_license_expression(text)
    except InvalidLicenseExpression:
        return None
    parts = canonical.split(" OR ")
    if any(" " in part or "(" in part for part in parts):
        return None  # AND, WITH, brackets: not a list of alternatives
    return parts


def _cff_license(license: str | None) -> list[str]:
    """``release.license`` as CITATION.cff can hold it, whatever it says: SPDX identifiers as
    ``license``, a URL as ``license-url``, any other text only in the message (a file
    cffconvert --validate accepts)."""
    if not license:
        return []
    ids = _spdx(license)
    if ids is not None:
        return (
            [f"license: {_q(ids[0])}"]
            if len(ids) == 1
            else ["license:", *(f"  - {_q(i)}" for i in ids)]
        )
    if license.startswith(("http://", "https://")):
        return [f"license-url: {_q(license)}"]
    return []


def citation_cff(
    *, version: str, released: str, license: str | None, pipeline_version: str
) -> bytes:
    message = f"Please cite LATINNO as: {CITATION} Name the release you used."
    if license and _spdx(license) is None and not license.startswith(("http://", "https://")):
        message += f" Licence: {license}"
    lines = [
        "cff-version: 1.2.0",
        f"message: {_q(message)}",
        "type: dataset",
        f"title: {_q(f'LATINNO Dataset, release {version}')}",
        f"version: {_q(version)}",
        f"date-released: {released}",
        f"url: {_q(SITE)}",
        "authors:",
        "  - family-names: Pogrebinschi",
        "    given-names: Thamy",
        f"    affiliation: {_q('WZB Berlin Social Science Center')}",
    ]
    lines += _cff_license(license)
    lines += [
        "preferred-citation:",
        "  type: data",
        f"  title: {_q('LATINNO Dataset')}",
        "  authors:",
        "    - family-names: Pogrebinschi",
        "      given-names: Thamy",
        "  year: 2017",
        "  publisher:",
        "    name: WZB",
        "    city: Berlin",
        f"  url: {_q(SITE)}",
        "references:",
        "  - type: software",
        f"    title: {_q('latinno-pipeline')}",
        f"    version: {_q(pipeline_version)}",
        "    authors:",
        f"      - name: {_q('latinno-pipeline contributors')}",
        f"    notes: {_q(f'Fetched, parsed and packaged release {version} of the case pages.')}",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")
