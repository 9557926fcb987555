"""``latinno site serve|generate``: our stand-in for the LATINNO site, for tests, bench and demo."""

from __future__ import annotations

import asyncio
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from latinno.cli.app import app
from latinno.errors import LatinnoError
from latinno.vocabulary import LANGS

site_app = typer.Typer(
    help="Serve the fixture pages as the LATINNO site does, or generate a full-size site.",
    no_args_is_help=True,
)
app.add_typer(site_app, name="site")


# Options of ``serve`` that change the pages served (named here so the command stays short).
HostileOption = Annotated[
    bool,
    typer.Option(
        "--hostile",
        help="Also serve hostile pages at case URLs 19991-19997 (listed in the sitemap): "
        "not a case page, double gzip, deep nesting, empty, binary, invalid UTF-8, slow drip.",
    ),
]
RedesignOption = Annotated[
    str | None,
    typer.Option(
        "--redesign",
        help="Serve every page as a redesigned site would: 'marker' (the class marking an "
        "applying option renamed) or 'headings' (section headings renamed).",
        show_default=False,
    ),
]
MarkingOption = Annotated[
    str | None,
    typer.Option(
        "--marking",
        help="Serve every page with its applying options marked another way than the "
        "class 'active': aria, data-attr, image, icon, style or inactive-class (for "
        "`latinno calibrate`).",
        show_default=False,
    ),
]


@site_app.command(
    "serve",
    epilog="Example: latinno site serve --port 8765 --sitemap --faults 0.2 "
    "(add --hostile for pages that attack the fetcher and parser)",
)
def serve(
    port: Annotated[int, typer.Option(help="TCP port; 0 picks a free one.")] = 8765,
    host: Annotated[str, typer.Option(help="Address to listen on (keep it loopback).")] = (
        "127.0.0.1"
    ),
    root: Annotated[
        Path | None,
        typer.Option(
            help="Folder holding {lang}/case/{id}/index.html (default: the bundled fixture "
            "site, rendered into a temporary folder).",
            show_default=False,
        ),
    ] = None,
    faults: Annotated[
        float,
        typer.Option(help="Share of case responses that fail (500/503/429/reset/truncate/slow)."),
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the fault injection.")] = 0,
    sitemap: Annotated[
        bool, typer.Option("--sitemap", help="Serve /sitemap.xml and name it in robots.txt.")
    ] = False,
    sitemap_lastmod: Annotated[
        bool,
        typer.Option(
            "--sitemap-lastmod/--no-sitemap-lastmod",
            help="Give each sitemap entry a <lastmod> (the page file's mtime).",
        ),
    ] = True,
    robots: Annotated[
        Path | None,
        typer.Option(help="robots.txt to serve (default: allow everything).", show_default=False),
    ] = None,
    hostile: HostileOption = False,
    redesign: RedesignOption = None,
    marking: MarkingOption = None,
) -> None:
    """Serve /{lang}/case/{id}/ pages, robots.txt and /__stats until interrupted.

    The first line printed is the server's URL, e.g. http://127.0.0.1:8765
    """
    from latinno.sitemodel.build_fixtures import bundled_site

    robots_text = _checked_options(root, faults, redesign, robots)
    if marking is not None and marking not in _MARKINGS:
        raise LatinnoError(f"--marking {marking}: expected one of {', '.join(_MARKINGS)}")
    with nullcontext(root) if root is not None else bundled_site() as served:
        _serve_until_interrupted(
            served,
            name=str(root or "the bundled site"),
            host=host,
            port=port,
            faults=faults,
            seed=seed,
            sitemap=sitemap,
            sitemap_lastmod=sitemap_lastmod,
            robots=robots_text,
            hostile=hostile,
            redesign=redesign,
            marking=marking,
        )


# latinno.sitemodel.marking.MARKINGS, named here so that --help needs no bs4 import.
_MARKINGS = ("aria", "data-attr", "image", "icon", "style", "inactive-class")


def _checked_options(
    root: Path | None, faults: float, redesign: str | None, robots: Path | None
) -> str | None:
    """Refuse a bad ``serve`` option in one line before anything listens; return the text of
    the robots.txt to serve, if one was named."""
    if root is not None and not root.is_dir():
        raise LatinnoError(f"{root}: site root is not a folder (expected {{lang}}/case/{{id}}/)")
    if not 0.0 <= faults <= 1.0:
        raise LatinnoError(f"--faults {faults}: expected a share between 0 and 1, such as 0.2")
    if redesign not in (None, "marker", "headings"):
        raise LatinnoError(f"--redesign {redesign}: expected 'marker' or 'headings'")
    if robots is None:
        return None
    try:
        return robots.read_text(encoding="utf-8")
    except OSError as exc:
        raise LatinnoError(f"{robots}: cannot read robots.txt: {exc.strerror}") from None


def _serve_until_interrupted(
    root: Path,
    *,
    name: str,
    host: str,
    port: int,
    faults: float,
    seed: int,
    sitemap: bool,
    sitemap_lastmod: bool,
    robots: str | None,
    hostile: bool,
    redesign: str | None,
    marking: str | None = None,
) -> None:
    """Run the site server, announcing its URL first (on stdout: scripts wait for that line)."""
    from latinno.sitemodel.server import serve_forever

    def announce(url: str) -> None:
        print(url, flush=True)
        extra = ", hostile pages 19991-19997" if hostile else ""
        extra += f", options marked by {marking}" if marking else ""
        print(f"serving {name} (faults {faults:g}{extra}); stats at {url}/__stats", file=sys.stderr)

    try:
        asyncio.run(
            serve_forever(
                root,
                host=host,
                port=port,
                faults=faults,
                seed=seed,
                sitemap=sitemap,
                sitemap_lastmod=sitemap_lastmod,
                robots=robots,
                hostile=hostile,
                redesign=redesign,
                marking=marking,
                on_ready=announce,
            )
        )
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    except OSError as exc:
        raise LatinnoError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


@site_app.command(
    "generate", epilog="Example: latinno site generate --out bench/.work/site --pages 3744"
)
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the site into.")],
    pages: Annotated[int, typer.Option(help="Number of case pages per language.")] = 3744,
    languages: Annotated[str, typer.Option(help="Comma-separated languages: en,es,pt.")] = "en",
    seed: Annotated[int, typer.Option(help="Seed of the generator.")] = 0,
) -> None:
    """Write a full-size site ({lang}/case/{id}/index.html with expected.json) for benchmarks."""
    langs = tuple(dict.fromkeys(part.strip() for part in languages.split(",") if part.strip()))
    unknown = [lang for lang in langs if lang not in LANGS]
    if not langs or unknown:
        raise LatinnoError(f"--languages {languages!r}: expected some of {', '.join(LANGS)}")
    if pages < 1:
        raise LatinnoError(f"--pages {pages}: expected at least 1")
    from latinno.sitemodel.generate import generate_site

    written = generate_site(out, total=pages, seed=seed, languages=langs)
    print(f"wrote {written} pages to {out}")
