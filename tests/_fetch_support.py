"""Small sites on disk and fast fetcher settings for the fetch/site-server tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows.fetch import Fetcher
from flows.fetch_types import FetchPolicy
from latinno.config_sections import HttpSettings, PolitenessSettings

UA = "latinno-pipeline-test/0.1 (+https://example.org/contact)"


def page_html(lang: str, case_id: int) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'></head><body>"
        f"<h1>Case {case_id} ({lang})</h1><p>{'x' * (case_id % 97)}</p></body></html>\n"
    )


def make_site(root: Path, ids: list[int], langs: tuple[str, ...] = ("en",)) -> Path:
    """Write ``{lang}/case/{id}/index.html`` (and an expected.json that must never be served)."""
    for lang in langs:
        for case_id in ids:
            folder = root / lang / "case" / str(case_id)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "index.html").write_text(page_html(lang, case_id), encoding="utf-8")
            (folder / "expected.json").write_text('{"secret": true}', encoding="utf-8")
    return root


def fast_fetcher(**overrides: Any) -> Fetcher:
    """A fetcher for loopback tests: no rate limit, tiny backoffs, short timeouts. ``overrides``
    name any setting of config.yaml's ``http`` or ``politeness`` section, ``allowed_hosts`` or
    ``seed``."""
    args: dict[str, Any] = {
        "allowed_hosts": ["127.0.0.1"],
        "user_agent": UA,
        "rate": 0.0,
        "concurrency": 4,
        "timeout_s": 5.0,
        "max_retries": 4,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "retry_after_cap_s": 5.0,
        "max_body_bytes": 1_000_000,
        "obey_robots": True,
        "seed": 1,
    }
    args.update(overrides)
    seed = args.pop("seed")
    hosts = frozenset(args.pop("allowed_hosts"))
    http_keys, polite_keys = set(HttpSettings.model_fields), set(PolitenessSettings.model_fields)
    assert set(args) <= http_keys | polite_keys, f"not a fetch setting: {set(args)}"
    http = HttpSettings(**{k: v for k, v in args.items() if k in http_keys})
    polite = PolitenessSettings(**{k: v for k, v in args.items() if k in polite_keys})
    return Fetcher(FetchPolicy(http, polite, hosts), seed=seed)
