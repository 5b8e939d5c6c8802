"""The parser's tables are cached only where the cache is private to the user."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from resdsl.lang import grammar


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("RESDSL_NO_CACHE", raising=False)
    return tmp_path


def test_cache_file_is_in_a_private_folder(cache_home: Path) -> None:
    path = grammar.cache_file()
    assert path is not None and Path(path).parent == cache_home / "resdsl"
    assert (cache_home / "resdsl").stat().st_mode & 0o777 == 0o700


def test_no_cache_where_others_could_write(cache_home: Path) -> None:
    folder = cache_home / "resdsl"
    folder.mkdir(mode=0o777)
    os.chmod(folder, 0o777)
    assert grammar.cache_file() is None


def test_no_cache_through_a_link(cache_home: Path, tmp_path: Path) -> None:
    folder = cache_home / "resdsl"
    folder.mkdir(mode=0o700)
    target = tmp_path / "elsewhere"
    target.write_bytes(b"not a pickle")
    path = Path(grammar.cache_file() or "")
    path.symlink_to(target)
    assert grammar.cache_file() is None


def test_switched_off_and_unwritable(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESDSL_NO_CACHE", "1")
    assert grammar.cache_file() is None
    monkeypatch.delenv("RESDSL_NO_CACHE")
    blocker = cache_home / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file where the folder would go
    assert grammar.cache_file() is None


def test_a_parser_from_the_cache_parses_as_a_built_one(cache_home: Path) -> None:
    import lark

    text = "network n { input 3x32x32 classes 10 stage 1 x 16 head { avgpool fc } }"
    options = {"parser": "lalr", "propagate_positions": True, "maybe_placeholders": True}
    source = (Path(grammar.__file__).parents[2] / "grammars" / "res.lark").read_text()
    built = lark.Lark(source, **options).parse(text)
    lark.Lark(source, cache=grammar.cache_file(), **options)  # writes the cache
    cached = lark.Lark(source, cache=grammar.cache_file(), **options).parse(text)
    assert cached == built
