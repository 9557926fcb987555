"""The one source of truth for labels, values, codes and countries, in en, es and pt.

Only labels seen on real pages live here. Translations nobody has seen yet are assumptions and
live in config.yaml (``parser.extra_labels``); ``build_labels`` merges the two.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

LANGS: tuple[str, ...] = ("en", "es", "pt")


@dataclass(frozen=True, slots=True)
class Term:
    """One codable value: its code and the labels seen for it, per language."""

    code: str
    labels: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Country:
    code: str
    id_prefix: int
    name_en: str
    slug: str
    names: Mapping[str, str]


# --- Institutional design -------------------------------------------------------------------

DESIGN_FIELDS: tuple[str, ...] = (
    "formalization",
    "frequency",
    "participant_selection",
    "participant_types",
    "decisiveness",
    "co_governance",
)

FIELD_LABELS: dict[str, dict[str, str]] = {
    "formalization": {"en": "Formalization", "es": "Formalización", "pt": "Formalização"},
    "frequency": {"en": "Frequency", "es": "Frecuencia", "pt": "Frequência"},
    "participant_selection": {
        "en": "Mode of selection of participants",
        "es": "Modo de selección de los participantes",
        "pt": "Modo de seleção de participantes",
    },
    "participant_types": {
        "en": "Type of participants",
        "es": "Tipo de participantes",
        "pt": "Tipo de participantes",
    },
    "decisiveness": {
        "en": "Decisiveness",
        "es": "Capacidad de tomar decisiones vinculantes",
        "pt": "Capacidade de tomada de decisões",
    },
    "co_governance": {"en": "Co-Governance", "es": "Co-gobernanza", "pt": "Cogovernança"},
}

# Values of four fields stay English on es/pt pages (docs/site.md), so they carry only "en".
FIELD_TERMS: dict[str, tuple[Term, ...]] = {
    "formalization": (
        Term("constitution_or_legislation", {"en": "embedded in the constitution/legislation"}),
        Term(
            "government_program_or_policy",
            {"en": "only backed by a governmental program or policy"},
        ),
        Term(
            "not_formalized",
            {
                "en": "not backed by constitution nor legislation, nor by any governmental "
                "policy or program"
            },
        ),
    ),
    "frequency": (
        Term("single", {"en": "single"}),
        Term("sporadic", {"en": "sporadic"}),
        Term("regular", {"en": "regular"}),
    ),
    "participant_selection": (
        Term("open", {"en": "open"}),
        Term("restricted", {"en": "restricted"}),
        Term("both", {"en": "both"}),
        Term("unknown", {"en": "unknown"}),
    ),
    "participant_types": (
        Term("citizens", {"en": "citizens", "es": "ciudadanos", "pt": "cidadãos"}),
        Term(
            "civil_society",
            {"en": "civil society", "es": "sociedad civil", "pt": "sociedade civil"},
        ),
        Term("private_stakeholders", {"en": "private stakeholders", "es": "organización privada"}),
    ),
    "decisiveness": (
        Term(
            "binding",
            {
                "en": "democratic innovation yields a binding decision",
                "es": "toma una decisión vinculante",
                "pt": "produz uma decisão vinculativa",
            },
        ),
        Term(
            "non_binding",
            {
                "en": "democratic innovation yields a non-binding decision",
                "es": "toma una decisión no vinculante",
                "pt": "produz uma decisão não vinculativa",
            },
        ),
        Term(
            "no_decision",
            {
                "en": "democratic innovation yields no decision",
                "es": "no toma decisión",
                "pt": "não produz decisões",
            },
        ),
    ),
    "co_governance": (
        Term("true", {"en": "yes"}),
        Term("false", {"en": "no"}),
    ),
}

# --- Means, Ends, Policy cycle ----------------------------------------------------------------

OPTION_LISTS: tuple[str, ...] = ("means", "ends", "policy_cycle")

OPTION_TERMS: dict[str, tuple[Term, ...]] = {
    "means": (
        Term("deliberation", {"en": "Deliberation", "pt": "Deliberação"}),
        Term("direct_voting", {"en": "Direct Voting", "pt": "Voto Direto"}),
        Term("e_participation", {"en": "E-Participation", "pt": "E-participação"}),
        Term(
            "citizen_representation", {"en": "Citizen Representation", "pt": "Representação Cidadã"}
        ),
    ),
    "ends": (
        Term("accountability", {"en": "Accountability", "pt": "Accountability"}),
        Term("responsiveness", {"en": "Responsiveness", "pt": "Responsividade"}),
        Term("rule_of_law", {"en": "Rule of Law", "pt": "Estado de Direito"}),
        Term("political_inclusion", {"en": "Political Inclusion"}),
        Term("social_equality", {"en": "Social Equality"}),
    ),
    "policy_cycle": (
        Term("agenda_setting", {"en": "Agenda setting"}),
        Term("formulation_and_decision_making", {"en": "Formulation and decision-making"}),
        Term("implementation", {"en": "Implementation"}),
        Term("policy_evaluation", {"en": "Policy Evaluation"}),
    ),
}

# The research literature's other name for e-participation: an alias, never a display label.
OPTION_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "means": {"e_participation": ("Digital Engagement",)},
}

# --- Section headings (seen ones; unseen translations come from config) ----------------------

SECTION_HEADINGS: dict[str, dict[str, str]] = {
    "institutional_design": {"en": "Institutional design"},
    "means": {"en": "Means", "es": "Medios", "pt": "Meios"},
    "ends": {"en": "Ends", "es": "Fines", "pt": "Fins"},
    "policy_cycle": {"en": "Policy cycle"},
    "sources": {"en": "Sources"},
    "how_to_quote": {"en": "How to quote"},
}

# --- Countries --------------------------------------------------------------------------------

COUNTRIES: tuple[Country, ...] = (
    Country("AR", 1, "Argentina", "argentina", {"es": "Argentina", "pt": "Argentina"}),
    Country("BO", 2, "Bolivia", "bolivia", {"es": "Bolivia", "pt": "Bolívia"}),
    Country("BR", 3, "Brazil", "brazil", {"es": "Brasil", "pt": "Brasil"}),
    Country("CL", 4, "Chile", "chile", {"es": "Chile", "pt": "Chile"}),
    Country("CO", 5, "Colombia", "colombia", {"es": "Colombia", "pt": "Colômbia"}),
    Country("CR", 6, "Costa Rica", "costa-rica", {"es": "Costa Rica", "pt": "Costa Rica"}),
    Country(
        "DO",
        7,
        "Dominican Republic",
        "dom-rep",
        {"es": "República Dominicana", "pt": "República Dominicana"},
    ),
    Country("EC", 8, "Ecuador", "ecuador", {"es": "Ecuador", "pt": "Equador"}),
    Country("SV", 9, "El Salvador", "el-salvador", {"es": "El Salvador", "pt": "El Salvador"}),
    Country("GT", 10, "Guatemala", "guatemala", {"es": "Guatemala", "pt": "Guatemala"}),
    Country("HN", 12, "Honduras", "honduras", {"es": "Honduras", "pt": "Honduras"}),
    Country("MX", 13, "Mexico", "mexico", {"es": "México", "pt": "México"}),
    Country("NI", 14, "Nicaragua", "nicaragua", {"es": "Nicaragua", "pt": "Nicarágua"}),
    Country("PA", 15, "Panama", "panama", {"es": "Panamá", "pt": "Panamá"}),
    Country("PY", 16, "Paraguay", "paraguay", {"es": "Paraguay", "pt": "Paraguai"}),
    Country("PE", 17, "Peru", "peru", {"es": "Perú", "pt": "Peru"}),
    Country("UY", 18, "Uruguay", "uruguay", {"es": "Uruguay", "pt": "Uruguai"}),
    Country("VE", 19, "Venezuela", "venezuela", {"es": "Venezuela", "pt": "Venezuela"}),
)

COUNTRY_BY_CODE: dict[str, Country] = {c.code: c for c in COUNTRIES}
COUNTRY_BY_PREFIX: dict[int, Country] = {c.id_prefix: c for c in COUNTRIES}


def country_for_case_id(case_id: int) -> Country | None:
    """The country an id's prefix (``id // 1000``) names, or None for an unknown prefix."""
    return COUNTRY_BY_PREFIX.get(case_id // 1000)


# --- Matching ---------------------------------------------------------------------------------

_SPACE = re.compile(r"\s+")


def normalize_label(text: str) -> str:
    """Fold a visible label or value for lookup: NFC, casefold, single spaces, no end colon."""
    text = unicodedata.normalize("NFC", text).replace("\xa0", " ")
    text = _SPACE.sub(" ", text).strip().rstrip(":").strip()
    return text.casefold()


@dataclass(frozen=True, slots=True)
class Labels:
    """Lookup tables a parser needs: normalized label -> code/field/section, for all languages.

    Built once by ``build_labels``; a plain value object so parsers never see configuration.
    """

    field_by_label: Mapping[str, str]
    value_codes: Mapping[str, Mapping[str, str]]
    option_codes: Mapping[str, Mapping[str, str]]
    section_by_heading: Mapping[str, str]
    country_by_name: Mapping[str, str]


def _add(table: dict[str, str], labels: Iterable[str], target: str) -> None:
    for label in labels:
        table[normalize_label(label)] = target


def build_labels(extra: Mapping[str, Mapping[str, Iterable[str]]] | None = None) -> Labels:
    """Merge the seen labels above with extra ones (config ``parser.extra_labels``).

    ``extra`` maps a group to {target: [labels]}. Groups: ``fields`` (target = field name),
    ``sections`` (target = section name), a design field name or an option list name
    (target = code), ``countries`` (target = ISO code).
    """
    extra = extra or {}
    field_by_label: dict[str, str] = {}
    for name, labels in FIELD_LABELS.items():
        _add(field_by_label, labels.values(), name)
    value_codes: dict[str, dict[str, str]] = {}
    for name, terms in FIELD_TERMS.items():
        table: dict[str, str] = {}
        for term in terms:
            _add(table, term.labels.values(), term.code)
        value_codes[name] = table
    option_codes: dict[str, dict[str, str]] = {}
    for name, terms in OPTION_TERMS.items():
        table = {}
        for term in terms:
            _add(table, term.labels.values(), term.code)
            _add(table, OPTION_ALIASES.get(name, {}).get(term.code, ()), term.code)
        option_codes[name] = table
    section_by_heading: dict[str, str] = {}
    for name, labels in SECTION_HEADINGS.items():
        _add(section_by_heading, labels.values(), name)
    country_by_name: dict[str, str] = {}
    for country in COUNTRIES:
        _add(country_by_name, [country.name_en, *country.names.values()], country.code)

    groups: dict[str, dict[str, str]] = {
        "fields": field_by_label,
        "sections": section_by_heading,
        "countries": country_by_name,
        **value_codes,
        **option_codes,
    }
    for group, targets in extra.items():
        if group not in groups:
            raise KeyError(group)
        for target, extra_labels in targets.items():
            _add(groups[group], extra_labels, target)
    return Labels(field_by_label, value_codes, option_codes, section_by_heading, country_by_name)


def label_groups() -> dict[str, tuple[str, ...]]:
    """Groups ``build_labels`` accepts in ``extra``, each with the targets it may name."""
    return {
        "fields": DESIGN_FIELDS,
        "sections": tuple(SECTION_HEADINGS),
        "countries": tuple(COUNTRY_BY_CODE),
        **{name: codes_for(name) for name in (*FIELD_TERMS, *OPTION_TERMS)},
    }


def vocabulary_rows() -> list[tuple[str, str, str | None, str | None, str | None]]:
    """Rows of the warehouse ``vocabulary`` table: (field, code, label_en, label_es, label_pt)."""
    rows = []
    for name, terms in (*FIELD_TERMS.items(), *OPTION_TERMS.items()):
        for term in terms:
            en, es, pt = (term.labels.get(lang) for lang in LANGS)
            rows.append((name, term.code, en, es, pt))
    return rows


def codes_for(name: str) -> tuple[str, ...]:
    """Allowed codes of a design field or option list, in page order."""
    terms = FIELD_TERMS.get(name) or OPTION_TERMS.get(name)
    if terms is None:
        raise KeyError(name)
    return tuple(t.code for t in terms)
