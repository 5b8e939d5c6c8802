"""Loading: `use` across files, cycles, missing files, names defined twice, encodings."""

from __future__ import annotations

from pathlib import Path

from resdsl.lang.load import load
from resdsl.pipeline import check

NET = "network {name} {{ input 3x32x32 classes 10 stage 1 x 16 head {{ avgpool fc }} }}\n"


def test_use_makes_networks_visible_but_compiles_only_the_root_file(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "base.res").write_text(NET.format(name="base"))
    (tmp_path / "top.res").write_text('use "lib/base.res"\nnetwork top = base with shortcut C\n')
    program = load(tmp_path / "top.res")
    assert program.diagnostics == ()
    assert program.own == ("top",) and set(program.definitions) == {"top", "base"}
    (graph,) = check(tmp_path / "top.res").networks
    assert graph.name == "top" and graph.shortcut == "C"


def test_use_paths_are_relative_to_the_using_file(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "base.res").write_text(NET.format(name="base"))
    (tmp_path / "a" / "top.res").write_text('use "base.res"\nnetwork top = base\n')
    monkeypatch.chdir(tmp_path)
    assert check("a/top.res").ok


def test_a_cycle_of_uses_is_reported_at_the_use_that_closes_it(tmp_path):
    (tmp_path / "a.res").write_text('use "b.res"\n' + NET.format(name="a"))
    (tmp_path / "b.res").write_text('use "a.res"\n' + NET.format(name="b"))
    result = check(tmp_path / "a.res")
    (diagnostic,) = result.diagnostics
    assert diagnostic.span.file.endswith("b.res") and diagnostic.span.line == 1
    assert "uses itself (a.res -> b.res -> a.res)" in diagnostic.message


def test_a_file_used_twice_through_two_paths_is_loaded_once(tmp_path):
    (tmp_path / "base.res").write_text(NET.format(name="base"))
    (tmp_path / "x.res").write_text('use "base.res"\n')
    (tmp_path / "y.res").write_text('use "base.res"\n')
    (tmp_path / "top.res").write_text('use "x.res"\nuse "y.res"\nnetwork top = base\n')
    result = check(tmp_path / "top.res")
    assert result.ok and [g.name for g in result.networks] == ["top"]


def test_errors_in_a_used_file_are_reported_with_that_file(tmp_path):
    (tmp_path / "bad.res").write_text("network {\n")
    (tmp_path / "top.res").write_text('use "bad.res"\n')
    (diagnostic,) = check(tmp_path / "top.res").diagnostics
    assert diagnostic.span.file.endswith("bad.res")


def test_spec_hash_covers_the_used_files(tmp_path):
    (tmp_path / "base.res").write_text(NET.format(name="base"))
    (tmp_path / "top.res").write_text('use "base.res"\nnetwork top = base\n')
    before = load(tmp_path / "top.res").sha256
    (tmp_path / "base.res").write_text(NET.format(name="base").replace("16", "32"))
    assert load(tmp_path / "top.res").sha256 != before


def test_a_directory_and_an_empty_file(tmp_path):
    (diagnostic,) = check(tmp_path).diagnostics
    assert "is a directory" in diagnostic.message
    (tmp_path / "empty.res").write_text("")
    result = check(tmp_path / "empty.res")
    assert result.ok and result.networks == ()


def test_the_prelude_s_cached_tree_is_the_one_parsed(tmp_path, monkeypatch):
    import pickle

    from resdsl.lang import load as loader
    from resdsl.lang.parse import parse

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    loader.prelude.cache_clear()
    first = loader.prelude()  # parsed, and kept
    (kept,) = (tmp_path / "resdsl").glob("prelude-*.pickle")
    loader.prelude.cache_clear()
    assert loader.prelude() == first  # read back
    resource = first.path
    assert first == parse(Path(resource).read_text(), resource)
    kept.write_bytes(pickle.dumps((b"another key", "not a tree")))  # stale: parsed again
    loader.prelude.cache_clear()
    assert loader.prelude() == first
    kept.write_bytes(b"\x80not a pickle")  # unreadable: parsed again
    loader.prelude.cache_clear()
    assert loader.prelude() == first
    loader.prelude.cache_clear()


BLOCK = "block {name}(planes, stride = 1) {{ conv1: conv 3x3, planes, stride stride bn1: bn }}\n"


def test_a_use_of_named_definitions_lets_only_those_through(tmp_path):
    # base.res defines `base` and a block; lib.res uses it and defines `top`, as the spec does
    (tmp_path / "base.res").write_text(NET.format(name="base") + BLOCK.format(name="mine"))
    (tmp_path / "lib.res").write_text('use "base.res"\n' + NET.format(name="top"))
    (tmp_path / "spec.res").write_text(
        'use mine, base from "lib.res"\n'
        + NET.format(name="top").replace("stage", "block mine stage")
    )
    program = load(tmp_path / "spec.res")
    assert program.diagnostics == ()
    assert set(program.definitions) == {"top", "base"}  # lib.res's `top` stays out of the way
    assert set(program.block_items) == {"mine"}
    assert program.own == ("top",)
    assert check(tmp_path / "spec.res").ok


def test_a_plain_use_beside_a_selective_one_sees_everything(tmp_path):
    (tmp_path / "base.res").write_text(NET.format(name="base") + NET.format(name="other"))
    (tmp_path / "top.res").write_text(
        'use base from "base.res"\nuse "base.res"\nnetwork top = other\n'
    )
    program = load(tmp_path / "top.res")
    assert program.diagnostics == ()
    assert set(program.definitions) == {"top", "base", "other"}
    assert [f.path for f in program.files].count(str(tmp_path / "base.res")) == 1


def test_a_selective_use_names_what_the_file_defines(tmp_path):
    (tmp_path / "base.res").write_text(NET.format(name="base"))
    (tmp_path / "top.res").write_text('use base, bsae from "base.res"\nnetwork top = base\n')
    (diagnostic,) = check(tmp_path / "top.res").diagnostics
    assert diagnostic.message == (
        "base.res defines no network, block or stem bsae (nor do the files it uses)"
    )
    assert (diagnostic.span.line, diagnostic.span.column) == (1, 11)


def test_what_a_selective_use_leaves_out_is_unknown(tmp_path):
    (tmp_path / "base.res").write_text(NET.format(name="base") + NET.format(name="other"))
    (tmp_path / "top.res").write_text('use base from "base.res"\nnetwork top = other\n')
    assert any("other" in d.message for d in check(tmp_path / "top.res").diagnostics)
