"""The fixture cases: the source of truth for fixtures/html (pages and expected records).

Ids, titles and countries look like the real site's; descriptions are ours. Design values are
written compactly in ``_ROWS`` (legend below) and expanded by ``_case``; the special pages (seed,
windows-1252, entities, unseen values, missing sections, translations) are spelled out below.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from latinno.sitemodel.labels import country_by_shown_name, country_name
from latinno.sitemodel.spec import CaseSpec, Markup
from latinno.sitemodel.texts import describe
from latinno.vocabulary import COUNTRY_BY_CODE, OPTION_TERMS

# Eight markup presets; pages take them round-robin unless a row names one.
PRESETS: tuple[Markup, ...] = (
    Markup("dl", "text", "item", "elements", "h3", "main"),
    Markup("table", "alt", "wrapper", "text", "h4", "article"),
    Markup("div", "title", "item", "elements", "div", "div"),
    Markup("dl", "alt", "wrapper", "text", "h2", "article"),
    Markup("table", "text", "item", "elements", "strong", "div"),
    Markup("div", "text", "wrapper", "text", "h3", "main"),
    Markup("table", "title", "wrapper", "elements", "h2", "main"),
    Markup("div", "alt", "item", "elements", "h4", "article"),
)

# Legend: formalization C/G/N (constitution_or_legislation, government_program_or_policy,
# not_formalized); frequency s/p/r (single, sporadic, regular); selection o/r/b/u (open,
# restricted, both, unknown); types: letters c/s/p (citizens, civil society, private
# stakeholders); decisiveness B/N/X (binding, non_binding, no_decision); co-governance y/n;
# means letters D V E R; ends A R L I S; policy cycle A F I E ("-" = none active).
_FORM = {
    "C": "constitution_or_legislation",
    "G": "government_program_or_policy",
    "N": "not_formalized",
}
_FREQ = {"s": "single", "p": "sporadic", "r": "regular"}
_SEL = {"o": "open", "r": "restricted", "b": "both", "u": "unknown"}
_TYPES = {"c": "citizens", "s": "civil_society", "p": "private_stakeholders"}
_DEC = {"B": "binding", "N": "non_binding", "X": "no_decision"}
_LETTERS = {"means": "DVER", "ends": "ARLIS", "policy_cycle": "AFIE"}

_SOURCE_BANK: tuple[tuple[str, str], ...] = (
    ("Official decree (PDF)", "https://www.gob.example/normas/decreto-2019.pdf"),
    ("Municipal website", "http://www.municipio.example/participacion/"),
    ("Annual report 2016", "https://transparencia.example.org/informe-2016"),
    ("News coverage", "https://www.diario.example.com/politica/2015/05/12/consulta"),
    ("Law text", "https://leyes.example/ley/1757"),
    ("Evaluation study", "https://repositorio.example.edu/handle/123/4567"),
)

# id, country code, title, "form freq sel types dec cog", means, ends, policy, n_sources, preset
_ROWS: tuple[tuple[int, str, str, str, str, str, str, int], ...] = (
    (1003, "AR", "Participatory Budgeting of Rosario", "G r o c B y", "DV", "RIS", "AFI", 2),
    (1152, "AR", "Open Government Hackathon Buenos Aires", "N s o cp X y", "E", "A", "A", 1),
    (1288, "AR", "Public Hearings on Utility Tariffs", "C p o cs N y", "D", "AR", "F", 0),
    (2004, "BO", "Municipal Social Control Committees", "C r r s X y", "DR", "AL", "IE", 1),
    (2061, "BO", "Departmental Autonomy Forums", "G p b cs N y", "D", "I", "AF", 0),
    (2133, "BO", "Indigenous Autonomy Statutes Referendum", "C s o c B n", "V", "LI", "F", 2),
    (3001, "BR", "Participatory Budgeting of Porto Alegre", "G r o c B y", "DV", "RIS", "AFIE", 3),
    (3045, "BR", "National Health Conferences", "C r b cs N y", "DR", "RIS", "AFE", 1),
    (3210, "BR", "Digital Cabinet of Rio Grande do Sul", "G p o c X y", "E", "R", "A", 1),
    (3377, "BR", "Municipal Councils of Children's Rights", "C r r sp N y", "DR", "LS", "FIE", 0),
    (
        3396,
        "BR",
        "e-Democracy Portal of the Chamber of Deputies",
        "N r o c X y",
        "DE",
        "RI",
        "AF",
        2,
    ),
    (4012, "CL", "Citizen Constitutional Dialogues", "G s o c N y", "D", "RI", "AF", 1),
    (4087, "CL", "Regional Public Accounts Hearings", "C r o cs X y", "D", "A", "E", 0),
    (
        4190,
        "CL",
        "Civil Society Council of the Environment Ministry",
        "C r r sp N y",
        "DR",
        "RS",
        "FE",
        1,
    ),
    (5008, "CO", "Local Planning Councils", "C r r csp N y", "DR", "RIS", "AFE", 0),
    (5099, "CO", "Citizen Oversight Committees", "C r o cs X n", "D", "AL", "IE", 2),
    (5231, "CO", "Popular Consultation on Mining in Cajamarca", "C s o c B n", "V", "LS", "F", 1),
    (5302, "CO", "My Ideal City Online Platform", "N s o c X y", "E", "R", "A", 0),
    (6005, "CR", "Cantonal Councils of Social Coordination", "C r r sp N y", "DR", "RS", "AFI", 1),
    (6047, "CR", "Citizen Legislative Initiative Office", "C r o c N y", "E", "RI", "A", 0),
    (6102, "CR", "Health Boards", "C r b cs N y", "DR", "ARS", "IE", 1),
    (7003, "DO", "Municipal Participatory Budget", "C r o cs B y", "DV", "RIS", "AFIE", 1),
    (7029, "DO", "Economic and Social Council", "C r r sp N y", "DR", "RS", "AF", 0),
    (7066, "DO", "Citizen Oversight of Public Procurement", "G p r s X n", "D", "AL", "E", 2),
    (
        8010,
        "EC",
        "Citizen Participation and Social Control Council",
        "C r b cs B y",
        "DRV",
        "ALI",
        "AFIE",
        1,
    ),
    (8055, "EC", "Local Assemblies of Cotacachi", "N r o csp N y", "DR", "RIS", "AFI", 0),
    (8140, "EC", "Yasuni-ITT Popular Consultation Drive", "N s o cs X n", "E", "I", "-", 1),
    (9002, "SV", "Municipal Transparency Committees", "G r r cs X y", "D", "A", "E", 0),
    (9031, "SV", "Citizen Consultation on the Water Law", "N s o csp X n", "DE", "RI", "A", 1),
    (9064, "SV", "Youth Councils", "G r r c N y", "DR", "IS", "AF", 0),
    (10006, "GT", "Urban and Rural Development Councils", "C r r csp N y", "DR", "RIS", "AFIE", 1),
    (10038, "GT", "Community Consultations on Mining", "N s o c X n", "V", "LI", "A", 2),
    (10071, "GT", "Open Parliament Table", "G r b s N y", "DE", "AR", "F", 0),
    (12004, "HN", "Municipal Transparency Commissions", "C r r cs X y", "D", "A", "E", 0),
    (12027, "HN", "Open Town Hall Meetings", "C p o c N y", "DV", "RI", "AF", 1),
    (12059, "HN", "Anti-Corruption Observatory", "N r r s X n", "D", "AL", "E", 1),
    (13011, "MX", "Participatory Budgeting of Mexico City", "C r o c B y", "VE", "RIS", "AFI", 2),
    (13090, "MX", "Citizen Councils for Public Security", "G r r cp N y", "DR", "AL", "FE", 1),
    (13245, "MX", "Social Comptroller Committees", "C r r c X y", "D", "A", "IE", 0),
    (13388, "MX", "Constitution CDMX Online Platform", "G s o c N y", "DE", "RIS", "AF", 1),
    (14002, "NI", "Councils of Citizen Power", "C r r c N y", "DR", "RIS", "AFI", 0),
    (14019, "NI", "Municipal Development Committees", "C r b csp N y", "DR", "RS", "AFIE", 1),
    (14037, "NI", "Open Council Sessions", "C p o c X y", "D", "A", "A", 0),
    (
        15003,
        "PA",
        "National Concertation Council for Development",
        "C r r csp N y",
        "DR",
        "RIS",
        "AFE",
        1,
    ),
    (15021, "PA", "Provincial Consultation Boards", "C r u sp N y", "DR", "RS", "AF", 0),
    (15040, "PA", "Public Hearings on the Canal Expansion", "G s o c X y", "D", "RI", "A", 1),
    (15058, "PA", "Business Council for Competitiveness", "G r r p N y", "-", "RS", "F", 0),
    (16007, "PY", "Municipal Development Councils", "C r r sp N y", "DR", "RS", "AFE", 1),
    (16030, "PY", "Citizen Oversight of School Meals", "G r r cs X y", "D", "AL", "IE", 0),
    (16052, "PY", "Open Government Roundtable", "G r b sp N y", "DE", "ARLIS", "AFIE", 2),
    (17002, "PE", "National Agreement Forum", "G r r sp N y", "DRVE", "RIS", "AF", 1),
    (17118, "PE", "Regional Participatory Budgeting", "C r b csp B y", "DR", "RIS", "AFIE", 2),
    (17230, "PE", "Local Coordination Councils", "C r r sp N y", "DR", "RS", "AF", 0),
    (18005, "UY", "Montevideo Participatory Budget", "G r o c B y", "DV", "RI", "AFI", 1),
    (18044, "UY", "National Dialogue on Employment", "G s r sp X y", "D", "RS", "A", 0),
    (18090, "UY", "Rural Development Councils", "C r b csp N y", "DR", "RIS", "AFIE", 1),
    (19003, "VE", "Communal Councils", "C r o c B y", "DV", "RIS", "AFIE", 1),
    (19028, "VE", "Local Public Planning Councils", "C r r cs N y", "DR", "RI", "AF", 0),
    (19066, "VE", "Consultation on Communal Projects", "G p u c N y", "V", "-", "-", 0),
)


def _options(name: str, letters: str) -> tuple[str, ...]:
    codes = [t.code for t in OPTION_TERMS[name]]
    return tuple(code for key, code in zip(_LETTERS[name], codes, strict=True) if key in letters)


def _case(row: tuple[Any, ...], index: int) -> CaseSpec:
    case_id, code, title, design, means, ends, policy, n_sources = row
    form, freq, sel, types, dec, cog = design.split()
    country = COUNTRY_BY_CODE[code]
    start = (case_id * 7) % len(_SOURCE_BANK)
    sources = tuple(_SOURCE_BANK[(start + k) % len(_SOURCE_BANK)] for k in range(n_sources))
    return CaseSpec(
        case_id=case_id,
        lang="en",
        country=country.name_en,
        title=title,
        description=describe(title, country.name_en, "en", case_id, 1 + case_id % 3),
        formalization=_FORM[form],
        frequency=_FREQ[freq],
        participant_selection=_SEL[sel],
        participant_types=tuple(_TYPES[k] for k in "csp" if k in types),
        decisiveness=_DEC[dec],
        co_governance="true" if cog == "y" else "false",
        means=_options("means", means),
        ends=_options("ends", ends),
        policy_cycle=_options("policy_cycle", policy),
        sources=sources,
        markup=PRESETS[index % len(PRESETS)],
        trailing_spaces=index % 4 == 1,
    )


_BASE: dict[int, CaseSpec] = {row[0]: _case(row, i) for i, row in enumerate(_ROWS)}

# --- The seed case (Peru; values as a real page's text copy shows them: docs/site.md) -------
SEED = CaseSpec(
    case_id=17045,
    lang="en",
    country="Peru",
    title="Multisectorial Open Government Forum",
    description=(
        "The Multisectorial Open Government Forum is a body of the executive branch set up by "
        "decree in January 2020 to steer the Open Government Action Plan. It brings together "
        "ministries, regional and local governments, national and local civil society, the "
        "private sector and universities, and replaces the earlier multisectoral commission "
        "(2013 ? 2019).",
        "The Forum proposes priorities and commitments to the Presidency of the Council of "
        "Ministers, monitors their implementation and writes progress reports; it may also "
        "propose new tools for open government.",
    ),
    formalization="government_program_or_policy",
    frequency="regular",
    participant_selection="restricted",
    participant_types=("civil_society", "private_stakeholders"),
    decisiveness="binding",
    co_governance="true",
    means=("deliberation",),
    ends=("accountability", "responsiveness"),
    policy_cycle=("agenda_setting", "formulation_and_decision_making", "policy_evaluation"),
    sources=(("Supreme Decree 206-2019-PCM", "https://www.gob.example/pe/ds-206-2019-pcm"),),
    markup=replace(PRESETS[0], types="text"),  # the seed copy shows types as plain text
    trailing_spaces=True,
)


def _special() -> list[CaseSpec]:
    b = dict(_BASE)  # a copy: the edits below must not accumulate across calls
    out: list[CaseSpec] = [SEED]
    # The site's "?" defects (curly quotes and dashes lost) in several paragraphs.
    b[3045] = replace(
        b[3045],
        description=(
            "The National Health Conferences are held every four years and gather users, "
            "health workers and managers of the Unified Health System (SUS).",
            "Municipal and state conferences elect the delegates; the conference?s final report "
            "guides the National Health Council?s work for the next term (1986 ? 2019).",
            "Critics point to the council?s limited power over the ministry?s budget.",
        ),
    )
    b[6047] = replace(
        b[6047],
        description=(
            "The Office receives citizens? proposals for bills and helps draft them.",
            "Proposals that gather enough support reach the Assembly?s committees.",
        ),
    )
    # Entity-encoded text: &amp; &eacute; &#8211; in title and description.
    b[5099] = replace(
        b[5099],
        title="Citizen Oversight Committees (Veedurías Ciudadanas) & Social Control",
        description=(
            "Veedurías are groups of citizens & organizations that oversee public works – from "
            "roads to schools – and report irregularities to the Procuraduría.",
            "Law 850 of 2003 (the régimen de veedurías) regulates them; the “Red Institucional "
            "de Apoyo” trains members.",
        ),
        entities=True,
    )
    # windows-1252: declared and really encoded so; curly quotes, é and an en dash in the text.
    b[8055] = replace(
        b[8055],
        title="Local Assemblies of Cotacachi – Asamblea de Unidad Cantonal",
        description=(
            "The “Asamblea de Unidad Cantonal” of Cotacachi met yearly from 1996 – 2009 and "
            "brought together indigenous, peasant and urban organizations of the canton.",
            "Its “Comité de Desarrollo” followed up on the decisions; the café owners’ guild "
            "took part as well.",
        ),
        charset="windows-1252",
    )
    # Values nobody has seen: kept raw, field null, issue (frequency, selection, co-governance).
    b[13090] = replace(b[13090], frequency="biannual", unseen=frozenset({"frequency"}))
    b[9031] = replace(
        b[9031],
        participant_selection="random sortition",
        unseen=frozenset({"participant_selection"}),
    )
    b[2061] = replace(b[2061], co_governance="partially", unseen=frozenset({"co_governance"}))
    # Country shown disagrees with the id prefix (Honduras prefix, Guatemala shown).
    b[12059] = replace(b[12059], country="Guatemala")
    # No Policy cycle section at all (policy_cycle [] + issue); no Sources on some of them.
    for case_id in (1288, 9064, 15040):
        b[case_id] = replace(b[case_id], policy_cycle=(), missing=frozenset({"policy_cycle"}))
    # One design pair absent from the page.
    b[14037] = replace(b[14037], co_governance="false", missing=frozenset({"co_governance"}))
    # A relative source link (resolved against the page URL) and a UTF-8 BOM.
    b[3396] = replace(
        b[3396],
        sources=(*b[3396].sources, ("Report (PDF)", "/wp-content/uploads/2018/03/edemocracia.pdf")),
        bom=True,
    )
    out.extend(b.values())
    return out


def _translate(spec: CaseSpec, lang: str, title: str, preset: int, **changes: Any) -> CaseSpec:
    shown = country_name(country_by_shown_name(spec.country), lang)
    return replace(
        spec,
        lang=lang,
        country=shown,
        title=title,
        description=describe(title, shown, lang, spec.case_id + 7, 1 + spec.case_id % 2),
        markup=PRESETS[preset],
        **changes,
    )


def _translations(en: dict[int, CaseSpec]) -> list[CaseSpec]:
    t = _translate
    return [
        t(en[17045], "es", "Foro Multisectorial de Gobierno Abierto", 1),
        t(en[5099], "es", "Veedurías Ciudadanas & Control Social", 2, entities=True),
        t(en[13011], "es", "Presupuesto Participativo de la Ciudad de México", 3),
        t(en[1003], "es", "Presupuesto Participativo de Rosario", 4, trailing_spaces=True),
        t(en[4012], "es", "Diálogos Ciudadanos Constitucionales", 5),
        t(
            en[10038],
            "es",
            "Consultas Comunitarias sobre Minería",
            6,
            policy_cycle=(),
            missing=frozenset({"policy_cycle"}),
        ),
        t(en[17045], "pt", "Fórum Multissetorial de Governo Aberto", 2),
        t(en[3001], "pt", "Orçamento Participativo de Porto Alegre", 7),
        t(en[3045], "pt", "Conferências Nacionais de Saúde", 0, trailing_spaces=True),
        t(en[3210], "pt", "Gabinete Digital do Rio Grande do Sul", 5, entities=True),
        t(en[18005], "pt", "Orçamento Participativo de Montevidéu", 6),
        t(en[16052], "pt", "Mesa de Governo Aberto do Paraguai", 4),
        t(en[3377], "pt", "Conselhos Municipais dos Direitos da Criança", 1),
    ]


# Cases the site publishes without an English page: as much cases as any (issue 15). Same
# row layout as _ROWS; the English title only seeds the country and design values.
_NOT_IN_ENGLISH: tuple[
    tuple[tuple[int, str, str, str, str, str, str, int], dict[str, str]], ...
] = (
    (
        (16075, "PY", "Departmental Development Councils", "C r r cs N y", "DR", "RS", "AF", 1),
        {"es": "Consejos Departamentales de Desarrollo"},
    ),
    (
        (3402, "BR", "Municipal Conferences of Cities", "C r b csp N y", "DR", "RIS", "AFE", 2),
        {"pt": "Conferências Municipais das Cidades"},
    ),
    (
        (13402, "MX", "Citizen Observatories of Jalisco", "N r o cs X n", "D", "AL", "E", 1),
        {"es": "Observatorios Ciudadanos de Jalisco", "pt": "Observatórios Cidadãos de Jalisco"},
    ),
)


def _not_in_english() -> list[CaseSpec]:
    """es-only, pt-only, and es+pt cases (no English page): their rows fill from es or pt."""
    out: list[CaseSpec] = []
    for index, (row, titles) in enumerate(_NOT_IN_ENGLISH):
        base = _case(row, index)
        for lang, title in titles.items():
            out.append(_translate(base, lang, title, (index + len(out)) % len(PRESETS)))
    return out


def fixture_cases() -> list[CaseSpec]:
    """Every fixture case page: en, then translations, then cases with no English page;
    (lang, case_id) is unique."""
    en = _special()
    by_id = {spec.case_id: spec for spec in en}
    return [*en, *_translations(by_id), *_not_in_english()]
