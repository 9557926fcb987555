"""Every error type survives pickling (issue 13, part 1).

Errors cross processes pickled (a process pool, Prefect's results); an error that cannot be
rebuilt there turns one bad page into a crashed run. The classes are found by walking
``LatinnoError``'s subclasses, so a class added later is covered without touching this file.
"""

from __future__ import annotations

import inspect
import pickle
import typing
from typing import Any

import pytest

import latinno.errors
from latinno.errors import LatinnoError


def _all_subclasses(cls: type[LatinnoError]) -> list[type[LatinnoError]]:
    found: list[type[LatinnoError]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


ERROR_CLASSES = [LatinnoError, *_all_subclasses(LatinnoError)]


def _sample(name: str, annotation: Any) -> Any:
    """A distinct value of the parameter's type, so a swapped attribute shows up."""
    options = typing.get_args(annotation) or (annotation,)
    kinds = [option for option in options if option is not type(None)]
    kind = kinds[0] if kinds else str
    if kind is bool:
        return True
    if kind is int:
        return 400 + len(name)
    if kind is float:
        return 12.5 + len(name)
    if kind in (tuple, list) or typing.get_origin(kind) in (tuple, list):
        return (f"{name}-a", f"{name}-b")
    return f"<{name} of the test>"


def _instance(cls: type[LatinnoError]) -> LatinnoError:
    init = cls.__init__
    if init is Exception.__init__ or init is BaseException.__init__:
        return cls(f"{cls.__name__} message with data/latinno.duckdb")
    hints = typing.get_type_hints(init, vars(latinno.errors))
    kwargs = {}
    for name, param in inspect.signature(init).parameters.items():
        if name == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        kwargs[name] = _sample(name, hints.get(name, str))
    return cls(**kwargs)


def _assert_same(original: LatinnoError, restored: object) -> None:
    assert type(restored) is type(original)
    assert isinstance(restored, LatinnoError)
    assert str(restored) == str(original)
    assert restored.args == original.args
    assert vars(restored) == vars(original)
    assert restored.exit_code == original.exit_code


def test_every_error_class_is_found() -> None:
    names = {cls.__name__ for cls in ERROR_CLASSES}
    # The classes that crossed processes when issue 13 was filed must be among them.
    assert {"ConfigError", "PageParseError", "FetchError", "DatabaseLockedError"} <= names


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_error_round_trips_through_pickle(cls: type[LatinnoError]) -> None:
    error = _instance(cls)
    error.add_note("while parsing batch 3")
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        restored = pickle.loads(pickle.dumps(error, protocol=protocol))
        _assert_same(error, restored)
        assert getattr(restored, "__notes__", None) == ["while parsing batch 3"]


def test_page_parse_error_keeps_url_and_reason_after_pickling() -> None:
    # The exact failure of issue 13: the parent rebuilt it as PageParseError(message) and crashed.
    url = "http://127.0.0.1/en/cases/101001"
    error = latinno.errors.PageParseError(url, "not a case page")
    restored = pickle.loads(pickle.dumps(error))
    assert isinstance(restored, latinno.errors.PageParseError)
    assert (restored.url, restored.reason) == (url, "not a case page")
    assert str(restored) == f"{url}: cannot parse case page: not a case page"


def test_error_raised_in_a_worker_process_comes_back_whole() -> None:
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1) as pool:
        future = pool.submit(_raise_parse_error, "http://127.0.0.1/es/cases/202002")
        with pytest.raises(latinno.errors.PageParseError) as caught:
            future.result(timeout=60)
    assert caught.value.url == "http://127.0.0.1/es/cases/202002"
    assert caught.value.reason == "empty page"


def _raise_parse_error(url: str) -> None:
    raise latinno.errors.PageParseError(url, "empty page")
