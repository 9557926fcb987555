"""The expected record of a spec: derived from the truth, never from running a parser.

Conventions (shared with the parser; fixtures/README.md): ``url`` is the canonical link;
``country`` the text shown, ``country_code`` its ISO code; description paragraphs joined by a
blank line; an unseen value gives null + issue {field, raw}; a missing section gives []/null +
issue {field, raw: null}; a country that disagrees with the id prefix gives issue
{field: "country", raw: <shown>}; issues ordered by record field order (a missing Institutional
design section's own issue just before its fields'); ``sections_present`` lists the parts
(``PAGE_PARTS``) on the page, an unseen value's field included; ``option_counts`` each list
shown with all its options found and the applying ones counted, and a list with none or all
applying gets issue {field: <list>, raw: "N of M apply"}; no ``parser_version``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from latinno.record import PAGE_PARTS, RECORD_FIELDS
from latinno.sitemodel.labels import country_by_shown_name
from latinno.sitemodel.spec import CaseSpec
from latinno.vocabulary import DESIGN_FIELDS, OPTION_LISTS, OPTION_TERMS, country_for_case_id

EXPECTED_FIELDS: tuple[str, ...] = tuple(f for f in RECORD_FIELDS if f != "parser_version")


def expected_record(spec: CaseSpec) -> dict[str, Any]:
    """The record a correct parser returns for ``render_page(spec)`` (keys in contract order)."""
    issues: list[tuple[str, str | None]] = []
    prefix_country = country_for_case_id(spec.case_id)
    if "country" in spec.missing:
        # No country on the page: the id prefix is the fallback, the shown text stays null.
        country_code = prefix_country.code if prefix_country else None
        country = None
        issues.append(("country", None))
    else:
        country_code = country_by_shown_name(spec.country).code
        country = spec.country
        if prefix_country is None or prefix_country.code != country_code:
            issues.append(("country", spec.country))
    record: dict[str, Any] = {
        "url": spec.url,
        "case_id": spec.case_id,
        "lang": spec.lang,
        "country_code": country_code,
        "country": country,
        "title": spec.title,
        "description": "\n\n".join(spec.description),
    }
    design_missing = "institutional_design" in spec.missing
    if design_missing:
        issues.append(("institutional_design", None))
    for field in DESIGN_FIELDS:
        multi = field == "participant_types"
        if design_missing or field in spec.missing:
            record[field] = [] if multi else None
            issues.append((field, None))
        elif field in spec.unseen:
            record[field] = [] if multi else None
            issues.append((field, getattr(spec, field).strip()))
        elif multi:
            record[field] = list(spec.participant_types)
        elif field == "co_governance":
            record[field] = spec.co_governance == "true"
        else:
            record[field] = getattr(spec, field)
    counts = []
    for name in OPTION_LISTS:
        record[name] = list(getattr(spec, name))
        if name in spec.missing:
            record[name] = []
            issues.append((name, None))
            continue
        # Every option is listed; a list with none or all applying carries an issue.
        found, applying = len(OPTION_TERMS[name]), len(record[name])
        counts.append({"list": name, "found": found, "applying": applying})
        if applying in (0, found):
            issues.append((name, f"{applying} of {found} apply"))
    record["sources"] = [
        {"text": text.strip(), "url": urljoin(spec.url, href)} for text, href in spec.sources
    ]
    missing = set(spec.missing) | (set(DESIGN_FIELDS) if design_missing else set())
    record["sections_present"] = [part for part in PAGE_PARTS if part not in missing]
    record["option_counts"] = counts
    ranked = list(RECORD_FIELDS)
    ranked.insert(ranked.index(DESIGN_FIELDS[0]), "institutional_design")
    order = {name: i for i, name in enumerate(ranked)}
    issues.sort(key=lambda item: order[item[0]])
    record["issues"] = [{"field": field, "raw": raw} for field, raw in issues]
    return {name: record[name] for name in EXPECTED_FIELDS}
