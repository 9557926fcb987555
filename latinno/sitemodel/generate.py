"""Generate a full-size model of the LATINNO site: ~3,744 case pages with expected records.

Same layout as fixtures/html ({lang}/case/{id}/index.html + expected.json) plus ``robots.txt``.
Ids follow the prefix rule with realistic gaps (serials start at 1; big countries reach ~396,
small ones have few cases). Each page is rendered by ``render.py`` from a spec derived
deterministically (seeded) from the fixture specs: their markup, new ids, titles and values.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from latinno.sitemodel.build_fixtures import write_case
from latinno.sitemodel.cases import fixture_cases
from latinno.sitemodel.labels import country_name
from latinno.sitemodel.spec import CaseSpec
from latinno.sitemodel.texts import describe
from latinno.vocabulary import COUNTRIES, COUNTRY_BY_CODE, FIELD_TERMS, LANGS, OPTION_TERMS, Country

# Relative number of cases per country (big countries many, small ones few).
_WEIGHTS: dict[str, float] = {
    "BR": 10.4,
    "MX": 10.0,
    "CO": 9.5,
    "AR": 9.0,
    "PE": 8.5,
    "CL": 7.0,
    "EC": 6.0,
    "BO": 5.0,
    "UY": 5.0,
    "VE": 4.5,
    "CR": 4.0,
    "GT": 3.5,
    "DO": 3.0,
    "PY": 3.0,
    "SV": 2.8,
    "HN": 2.5,
    "PA": 2.0,
    "NI": 1.2,
}
_MAX_SERIAL = 999
ROBOTS_TXT = "User-agent: *\nAllow: /\n"

_KINDS = (
    "Participatory Budget",
    "Citizen Council",
    "Public Hearing",
    "Popular Consultation",
    "Oversight Committee",
    "Development Council",
    "Online Consultation Platform",
    "Citizen Assembly",
    "Thematic Conference",
    "Transparency Commission",
    "Open Government Roundtable",
    "Community Planning Board",
)
_TOPICS = (
    "Health",
    "Education",
    "Public Security",
    "the Environment",
    "Water",
    "Youth",
    "Women's Rights",
    "Indigenous Affairs",
    "Urban Planning",
    "Housing",
    "Transport",
    "Culture",
    "Social Assistance",
    "Rural Development",
)
_SOURCES = (
    ("Official website", "https://www.gob.example/participacion/{id}"),
    ("Legal basis", "https://leyes.example/norma/{id}"),
    ("Press article", "https://www.diario.example.com/nota/{id}"),
    ("Academic study", "https://repositorio.example.edu/handle/{id}"),
)
_UNSEEN_VALUES = (
    ("frequency", "biannual"),
    ("participant_selection", "random sortition"),
    ("co_governance", "partially"),
)


def allocate(total: int, rng: random.Random) -> dict[str, list[int]]:
    """Serials per country code: counts proportional to the weights, ids with small gaps."""
    weight_sum = sum(_WEIGHTS.values())
    shares = {c.code: total * _WEIGHTS[c.code] / weight_sum for c in COUNTRIES}
    counts = {code: int(share) for code, share in shares.items()}
    by_remainder = sorted(shares, key=lambda code: shares[code] - counts[code], reverse=True)
    for code in by_remainder[: total - sum(counts.values())]:
        counts[code] += 1
    serials: dict[str, list[int]] = {}
    for code, count in counts.items():
        if count > _MAX_SERIAL:
            raise ValueError(f"total={total} needs {count} cases for {code}: at most 999 each")
        if count == 0:
            serials[code] = []
            continue
        # About 3% of serials are gaps (withdrawn cases), never long runs: probing finds them all.
        span = min(_MAX_SERIAL, max(count, round(count * 1.03) + rng.randint(0, 3)))
        chosen = sorted(rng.sample(range(2, span + 1), count - 1)) if count > 1 else []
        serials[code] = [1, *chosen]
    return serials


def _subset(rng: random.Random, codes: Sequence[str], at_least: int = 0) -> tuple[str, ...]:
    while True:
        picked = tuple(code for code in codes if rng.random() < 0.45)
        if len(picked) >= at_least:
            return picked


def _codes(name: str) -> tuple[str, ...]:
    terms = FIELD_TERMS.get(name) or OPTION_TERMS[name]
    return tuple(t.code for t in terms)


def case_spec(
    case_id: int, country: Country, rng: random.Random, templates: Sequence[CaseSpec]
) -> CaseSpec:
    """A new English case spec: markup from a fixture template, values drawn at random."""
    template = rng.choice(templates)
    title = f"{rng.choice(_KINDS)} on {rng.choice(_TOPICS)}"
    if rng.random() < 0.4:
        title = f"{title} ({country.name_en})"
    selection_codes = _codes("participant_selection")
    selection = "unknown" if rng.random() < 0.02 else rng.choice(selection_codes[:3])
    spec = CaseSpec(
        case_id=case_id,
        lang="en",
        country=country.name_en,
        title=title,
        description=describe(title, country.name_en, "en", case_id, rng.randint(1, 3)),
        formalization=rng.choice(_codes("formalization")),
        frequency=rng.choice(_codes("frequency")),
        participant_selection=selection,
        participant_types=_subset(rng, _codes("participant_types"), at_least=1),
        decisiveness=rng.choice(_codes("decisiveness")),
        co_governance=rng.choice(("true", "false")),
        means=_subset(rng, _codes("means")),
        ends=_subset(rng, _codes("ends")),
        policy_cycle=_subset(rng, _codes("policy_cycle")),
        sources=tuple(
            (text, url.format(id=case_id))
            for text, url in rng.sample(_SOURCES, rng.choice((0, 0, 1, 1, 2, 3)))
        ),
        markup=template.markup,
        entities=template.entities,
        trailing_spaces=rng.random() < 0.3,
    )
    roll = rng.random()
    if roll < 0.01:
        field, raw = rng.choice(_UNSEEN_VALUES)
        unseen: dict[str, Any] = {field: raw}  # a field's raw text, in place of its codes
        spec = replace(spec, unseen=frozenset({field}), **unseen)
    elif roll < 0.04:
        spec = replace(spec, policy_cycle=(), missing=frozenset({"policy_cycle"}))
    elif roll < 0.05:
        spec = replace(spec, charset="windows-1252")
    return spec


def translate(spec: CaseSpec, country: Country, lang: str) -> CaseSpec:
    """The same case on the ``lang`` page: translated country, labels and description."""
    if lang == "en":
        return spec
    shown = country_name(country, lang)
    paragraphs = len(spec.description)
    return replace(
        spec,
        lang=lang,
        country=shown,
        description=describe(spec.title, shown, lang, spec.case_id + 7, paragraphs),
    )


def generate_site(
    out_dir: Path, *, total: int = 3744, seed: int = 0, languages: Sequence[str] = ("en",)
) -> int:
    """Write ``total`` cases (each in every language of ``languages``) under ``out_dir``.

    Returns the number of pages written (``total * len(languages)``). Deterministic for a seed.
    """
    unknown = [lang for lang in languages if lang not in LANGS]
    if unknown:
        raise ValueError(f"languages: unknown {unknown}; expected some of {list(LANGS)}")
    rng = random.Random(seed)
    templates = [spec for spec in fixture_cases() if spec.lang == "en"]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "robots.txt").write_text(ROBOTS_TXT, encoding="ascii")
    pages = 0
    for code, serials in allocate(total, rng).items():
        country = COUNTRY_BY_CODE[code]
        for serial in serials:
            spec = case_spec(country.id_prefix * 1000 + serial, country, rng, templates)
            for lang in languages:
                write_case(out_dir, translate(spec, country, lang))
                pages += 1
    return pages


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m latinno.sitemodel.generate OUT [--total N] [--seed S] [--languages en,es]``."""
    import argparse  # only the command line needs it

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--total", type=int, default=3744)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--languages", default="en", help="comma-separated: en,es,pt")
    args = parser.parse_args(argv)
    languages = tuple(lang.strip() for lang in args.languages.split(",") if lang.strip())
    pages = generate_site(args.out_dir, total=args.total, seed=args.seed, languages=languages)
    print(f"wrote {pages} pages under {args.out_dir}")


if __name__ == "__main__":
    main()
