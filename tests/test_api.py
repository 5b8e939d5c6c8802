"""resdsl as a library: the functions of resdsl/api.py and the examples of docs/api.md."""

from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path

import pytest

import resdsl
from tests.conftest import ROOT

TINY = """
network tiny {
    input 3x32x32
    classes 10
    stem { conv 3x3, 16 }
    stage 2 x 16
    head { avgpool fc }
}
"""


def test_the_examples_in_docs_api_md_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    failed, tried = doctest.testfile(str(ROOT / "docs" / "api.md"), module_relative=False)
    assert tried > 5 and failed == 0


def test_paths_and_text_are_both_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    as_path = resdsl.stats(Path("specs/resnet18.res"))
    as_name = resdsl.stats("specs/resnet18.res")
    as_text = resdsl.stats((ROOT / "specs" / "resnet18.res").read_text())
    assert as_path.params == as_name.params == as_text.params == 11_689_512
    assert as_text.file == "<string>"


def test_check_returns_diagnostics_as_data() -> None:
    result = resdsl.check(TINY.replace("classes 10", "classes 0"))
    assert not result.ok
    (diagnostic,) = result.diagnostics
    assert (diagnostic.span.file, diagnostic.span.line, diagnostic.severity) == (
        "<string>",
        4,
        "error",
    )
    assert diagnostic.message == "classes must be a positive number, not 0"


def test_errors_read_like_the_compiler(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(resdsl.ResdslError) as caught:
        resdsl.compile(TINY.replace("stage 2 x 16", "stage 2 x 16, strde 2"))
    text = str(caught.value)
    assert text.startswith("<string>:6:") and ": error: " in text and "^" in text
    monkeypatch.chdir(ROOT)
    with pytest.raises(resdsl.ResdslError, match=r"holds 8 networks \(resnet20"):
        resdsl.network("specs/cifar.res")
    with pytest.raises(resdsl.ResdslError, match="not a int"):
        resdsl.stats(42)  # type: ignore[arg-type]


def test_compile_gives_the_committed_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert resdsl.compile("specs/resnet34_a.res") == (ROOT / "generated/resnet34_a.py").read_text()


def test_build_makes_a_module_in_process_and_writes_nothing(tmp_path, monkeypatch) -> None:
    import torch

    monkeypatch.chdir(tmp_path)
    net = resdsl.build(TINY, num_classes=7)
    assert list(tmp_path.iterdir()) == []
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 7)
    assert sum(p.numel() for p in net.parameters()) == resdsl.stats(TINY).params - 3 * 17
    scripted = torch.jit.script(net)  # the source is readable: linecache knows it
    assert scripted(torch.zeros(1, 3, 32, 32)).shape == (1, 7)


def test_only_build_imports_torch() -> None:
    code = (
        "import sys, resdsl\n"
        "assert 'resdsl.pipeline' not in sys.modules\n"
        "resdsl.check('specs/resnet18.res'); resdsl.stats('specs/resnet18.res')\n"
        "resdsl.compile('specs/resnet18.res'); resdsl.networks('specs/cifar.res')\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)


def test_spec_text_is_read_by_the_rules_files_are() -> None:
    crlf = TINY.replace("\n", "\r\n")
    assert resdsl.stats("\ufeff" + crlf).params == resdsl.stats(TINY).params  # BOM, CRLF
    huge = resdsl.check("network n {" + " " * 300_000 + "}")
    assert not huge.ok and "is too large" in huge.diagnostics[0].message
