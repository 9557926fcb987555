"""Page keys from case URLs and file paths, and back."""

from __future__ import annotations

import pytest

from latinno.pages import PageKey, case_url, page_key


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://latinno.net/en/case/17045/", ("en", 17045)),
        ("https://latinno.net/en/case/17045", ("en", 17045)),
        ("https://www.latinno.net/es/case/5099/?lang=es#top", ("es", 5099)),
        ("http://latinno.wzb.eu/pt/case/3210/", ("pt", 3210)),
        ("http://127.0.0.1:8765/en/case/1001/", ("en", 1001)),
        ("fixtures/html/en/case/13090/index.html", ("en", 13090)),
        ("/tmp/pages/pt/case/3210.html", ("pt", 3210)),
        ("C:\\pages\\es\\case\\10038\\index.html", ("es", 10038)),
    ],
)
def test_case_urls(url: str, key: tuple[str, int]) -> None:
    assert page_key(url) == PageKey(key[1], key[0])
    assert case_url("http://h:1/", page_key(url)) == f"http://h:1/{key[0]}/case/{key[1]}/"


@pytest.mark.parametrize(
    "url",
    [
        "https://latinno.net/en/country/peru/",
        "https://latinno.net/de/case/17045/",  # not a site language
        "https://latinno.net/en/case/",
        "https://latinno.net/en/case/abc/",
        "https://latinno.net/en/case/17045/extra/",
        "https://latinno.net/en/case/0/",
        "fixtures/html/en/case/17045/expected.json",
        "",
    ],
)
def test_not_case_urls(url: str) -> None:
    assert page_key(url) is None
