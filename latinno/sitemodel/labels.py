"""Visible text a case page shows, per language: headings, field labels, values, options, help.

Seen labels come from ``latinno.vocabulary``. Translations nobody has seen ("not yet seen" in
docs/vocabulary.md) must be exactly the ones in config.yaml ``parser.extra_labels``; a test
checks that, so the fixtures never invent a label the parser cannot be configured for.
"""

from __future__ import annotations

from latinno.vocabulary import (
    COUNTRIES,
    FIELD_LABELS,
    FIELD_TERMS,
    OPTION_TERMS,
    SECTION_HEADINGS,
    Country,
)

# Unseen translations, copied from config.yaml parser.extra_labels (first label of each entry).
_UNSEEN_HEADINGS: dict[str, dict[str, str]] = {
    "institutional_design": {"es": "Diseño institucional", "pt": "Desenho institucional"},
    "policy_cycle": {"es": "Ciclo de políticas", "pt": "Ciclo de políticas públicas"},
    "sources": {"es": "Fuentes", "pt": "Fontes"},
    "how_to_quote": {"es": "Cómo citar", "pt": "Como citar"},
}

_UNSEEN_OPTIONS: dict[str, dict[str, dict[str, str]]] = {
    "means": {
        "deliberation": {"es": "Deliberación"},
        "direct_voting": {"es": "Voto directo"},
        "e_participation": {"es": "E-participación"},
        "citizen_representation": {"es": "Representación ciudadana"},
    },
    "ends": {
        "accountability": {"es": "Rendición de cuentas"},
        "responsiveness": {"es": "Responsividad"},
        "rule_of_law": {"es": "Estado de derecho"},
        "political_inclusion": {"es": "Inclusión política", "pt": "Inclusão Política"},
        "social_equality": {"es": "Igualdad social", "pt": "Igualdade Social"},
    },
    "policy_cycle": {
        "agenda_setting": {"es": "Definición de la agenda", "pt": "Definição da agenda"},
        "formulation_and_decision_making": {
            "es": "Formulación y toma de decisiones",
            "pt": "Formulação e tomada de decisão",
        },
        "implementation": {"es": "Implementación", "pt": "Implementação"},
        "policy_evaluation": {"es": "Evaluación de políticas", "pt": "Avaliação de políticas"},
    },
}

_UNSEEN_VALUES: dict[str, dict[str, dict[str, str]]] = {
    "participant_types": {"private_stakeholders": {"pt": "partes interessadas privadas"}},
}

# The help panel behind the "?" toggle. English exactly as the seed page; es/pt are our own
# translations (help texts are never data: the parser must skip them in every language).
HELP_TEXTS: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        (
            "Formalization",
            "is the innovation embedded in the constitution or legislation, in an "
            "administrative act, or not formalized at all?",
        ),
        (
            "Frequency",
            "how often does the innovation take place: only once, sporadically, or is it "
            "permanent or regular?",
        ),
        (
            "Mode of Selection of Participants",
            "is the innovation open to all participants, access is restricted to some kind of "
            "condition, or both methods apply?",
        ),
        (
            "Type of participants",
            "those who participate are individual citizens, civil society organizations, "
            "private stakeholders or a combination of those?",
        ),
        ("Decisiveness", "does the innovation takes binding, non-binding or no decision at all?"),
        ("Co-governance", "is there involvement of the government in the process or not?"),
    ),
    "es": (
        (
            "Formalización",
            "¿la innovación está inscrita en la constitución o la legislación, en un acto "
            "administrativo, o no está formalizada?",
        ),
        (
            "Frecuencia",
            "¿con qué frecuencia tiene lugar la innovación: una sola vez, esporádicamente, o es "
            "permanente o regular?",
        ),
        (
            "Modo de selección de los participantes",
            "¿la innovación está abierta a todos, el acceso está restringido a alguna condición, "
            "o se aplican ambos métodos?",
        ),
        (
            "Tipo de participantes",
            "¿participan ciudadanos individuales, organizaciones de la sociedad civil, actores "
            "privados o una combinación de ellos?",
        ),
        (
            "Capacidad de tomar decisiones vinculantes",
            "¿la innovación toma decisiones vinculantes, no vinculantes o ninguna decisión?",
        ),
        ("Co-gobernanza", "¿hay participación del gobierno en el proceso o no?"),
    ),
    "pt": (
        (
            "Formalização",
            "a inovação está inscrita na constituição ou na legislação, em um ato "
            "administrativo, ou não é formalizada?",
        ),
        (
            "Frequência",
            "com que frequência a inovação acontece: uma única vez, esporadicamente, ou é "
            "permanente ou regular?",
        ),
        (
            "Modo de seleção de participantes",
            "a inovação é aberta a todos, o acesso é restrito a alguma condição, ou ambos os "
            "métodos se aplicam?",
        ),
        (
            "Tipo de participantes",
            "participam cidadãos individuais, organizações da sociedade civil, atores privados ou "
            "uma combinação deles?",
        ),
        (
            "Capacidade de tomada de decisões",
            "a inovação produz decisões vinculativas, não vinculativas ou nenhuma decisão?",
        ),
        ("Cogovernança", "há envolvimento do governo no processo ou não?"),
    ),
}

QUOTE_TEXT: dict[str, tuple[str, str, str]] = {
    "en": (
        "Do you want to use the data from this website? Here’s how to cite:",
        "Would you like to contribute to our database?",
        "Send us a case",
    ),
    "es": (
        "¿Quiere utilizar los datos de este sitio web? Así es como debe citarlos:",
        "¿Le gustaría contribuir a nuestra base de datos?",
        "Envíenos un caso",
    ),
    "pt": (
        "Quer usar os dados deste site? Veja como citar:",
        "Gostaria de contribuir para a nossa base de dados?",
        "Envie-nos um caso",
    ),
}

CITATION = "Pogrebinschi, Thamy. (2017). LATINNO Dataset. Berlin: WZB."

# Values of these fields are translated on es/pt pages; the other four stay English (docs/site.md).
TRANSLATED_FIELDS = frozenset({"participant_types", "decisiveness"})


def heading(section: str, lang: str) -> str:
    """Visible heading of a section (institutional_design, means, ..., how_to_quote)."""
    seen = SECTION_HEADINGS[section]
    if lang in seen:
        return seen[lang]
    return _UNSEEN_HEADINGS[section][lang]


def field_label(field: str, lang: str) -> str:
    return FIELD_LABELS[field][lang]


def value_label(field: str, code: str, lang: str) -> str:
    """Visible value of a design field's code on a page in ``lang``."""
    if field not in TRANSLATED_FIELDS:
        lang = "en"
    term = next(t for t in FIELD_TERMS[field] if t.code == code)
    if lang in term.labels:
        return term.labels[lang]
    return _UNSEEN_VALUES[field][code][lang]


def option_label(name: str, code: str, lang: str) -> str:
    """Visible name of a Means/Ends/Policy cycle option on a page in ``lang``."""
    term = next(t for t in OPTION_TERMS[name] if t.code == code)
    if lang in term.labels:
        return term.labels[lang]
    unseen = _UNSEEN_OPTIONS[name][code]
    return unseen.get(lang) or term.labels["en"]


def country_name(country: Country, lang: str) -> str:
    return country.name_en if lang == "en" else country.names[lang]


def country_by_shown_name(name: str) -> Country:
    """The country whose name (in any language) is ``name``."""
    for country in COUNTRIES:
        if name == country.name_en or name in country.names.values():
            return country
    raise KeyError(name)


def unseen_labels() -> dict[str, dict[str, list[str]]]:
    """Every unseen translation used here, grouped like config ``parser.extra_labels``."""
    groups: dict[str, dict[str, list[str]]] = {"sections": {}}
    for section, by_lang in _UNSEEN_HEADINGS.items():
        groups["sections"][section] = sorted(by_lang.values())
    for group, table in (*_UNSEEN_OPTIONS.items(), *_UNSEEN_VALUES.items()):
        for code, by_lang in table.items():
            groups.setdefault(group, {})[code] = sorted(by_lang.values())
    return groups
