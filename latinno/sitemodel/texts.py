"""Description text for model pages, written by us (never copied from the real site).

``describe`` composes one to three paragraphs from sentence banks, deterministically from a
seed, so fixture and generated pages read like the site's descriptions without being them.
"""

from __future__ import annotations

import random

_OPEN: dict[str, tuple[str, ...]] = {
    "en": (
        "The {title} was created in {year} by the {actor} of {country}.",
        "Set up in {year}, the {title} brings together public officials and residents of "
        "{country}.",
        "In {year} the {actor} launched the {title} as a permanent channel of dialogue.",
        "The {title} is a mechanism through which people in {country} take part in public "
        "decisions.",
        "Since {year}, the {title} has met in several municipalities of {country}.",
    ),
    "es": (
        "El {title} fue creado en {year} por el gobierno de {country}.",
        "Desde {year}, el {title} reúne a funcionarios públicos y vecinos de {country}.",
        "El {title} es un mecanismo mediante el cual la ciudadanía de {country} participa en "
        "decisiones públicas.",
    ),
    "pt": (
        "O {title} foi criado em {year} pelo governo de {country}.",
        "Desde {year}, o {title} reúne servidores públicos e moradores de {country}.",
        "O {title} é um mecanismo por meio do qual a população de {country} participa de "
        "decisões públicas.",
    ),
}

_MIDDLE: dict[str, tuple[str, ...]] = {
    "en": (
        "Participants discuss priorities for the annual budget and vote on a list of projects.",
        "Members are appointed for two years and meet at least four times a year.",
        "The sessions are open to the public and their minutes are published online.",
        "Civil society organizations present proposals that the authorities must answer in "
        "writing.",
        "A technical secretariat prepares the agenda and follows up on the agreements.",
        "The initiative was later replicated in other regions of the country.",
        "Its recommendations are not binding, but officials have to justify any rejection.",
        "An online platform allows residents to submit ideas and comment on draft rules.",
        "Representatives of indigenous communities hold reserved seats in the plenary.",
        "Monitoring committees report on the execution of the works that were approved.",
        "The law that created it also regulates how members are chosen.",
        "Attendance grew from a few hundred people in the first year to several thousand.",
    ),
    "es": (
        "Los participantes discuten las prioridades del presupuesto anual y votan una lista "
        "de proyectos.",
        "Las sesiones son abiertas al público y sus actas se publican en línea.",
        "Una secretaría técnica prepara la agenda y da seguimiento a los acuerdos.",
        "Las organizaciones de la sociedad civil presentan propuestas que las autoridades "
        "deben responder por escrito.",
        "La iniciativa fue replicada luego en otras regiones del país.",
    ),
    "pt": (
        "Os participantes discutem as prioridades do orçamento anual e votam uma lista de "
        "projetos.",
        "As sessões são abertas ao público e as atas são publicadas na internet.",
        "Uma secretaria técnica prepara a pauta e acompanha os acordos.",
        "Organizações da sociedade civil apresentam propostas que as autoridades devem "
        "responder por escrito.",
        "A iniciativa foi depois replicada em outras regiões do país.",
    ),
}

_ACTORS = ("national government", "Ministry of the Interior", "city council", "national congress")


def describe(
    title: str, country: str, lang: str, seed: int, paragraphs: int = 1
) -> tuple[str, ...]:
    """One to three paragraphs about a case, the same for the same arguments."""
    rng = random.Random(seed)
    out = []
    for index in range(paragraphs):
        sentences = []
        if index == 0:
            sentences.append(
                rng.choice(_OPEN[lang]).format(
                    title=title,
                    country=country,
                    year=rng.randint(1990, 2020),
                    actor=rng.choice(_ACTORS),
                )
            )
        sentences.extend(rng.sample(_MIDDLE[lang], rng.randint(2, 4)))
        out.append(" ".join(sentences))
    return tuple(out)
