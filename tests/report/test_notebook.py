"""How networks, stats and diffs show in Jupyter: the same figures as the command line."""

from __future__ import annotations

import html
import re
import subprocess
import sys

import pytest

import resdsl
from resdsl.report import notebook
from resdsl.report.tables import render
from tests.conftest import ROOT


def _cells(html: str) -> list[list[str]]:
    """The text of each row of the table in ``html``."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html)
    return [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row) for row in rows]


def test_the_stats_table_is_resdsl_stats_markdown_cell_for_cell():
    report = resdsl.stats("specs/resnet50.res")
    markdown = render([report], "markdown").splitlines()
    expected = [
        [cell.strip().strip("*") for cell in line.strip("|").split("|")]
        for line in markdown
        if line.startswith("| ") and "---" not in line
    ]
    got = _cells(report._repr_html_())
    assert got == expected
    assert got[-1][:4] == ["total", "3x224x224", "", "25,557,032"]


def test_the_diff_table_is_resdsl_diffs():
    change = resdsl.diff("specs/resnet50.res", "specs/resnet50_v1_5.res")
    got = _cells(change._repr_html_())
    assert got[0] == list(change.columns()) and got[1:] == [list(r) for r in change.rows()]
    assert got[-1][-1] == "+231,211,008 (+6.0%)"
    assert "+231,211,008 (+6.0%)" in str(change)


def test_a_network_is_its_diagram_beside_its_stats():
    net = resdsl.network("specs/cifar.res", "resnet20")
    page = net._repr_html_()
    assert page.count("<svg") == 1 and "3x3 conv, 32, /2" in page
    assert "269,722" in page and "Graphviz" not in page
    assert net._repr_svg_().startswith("<svg")


def test_without_graphviz_the_table_alone_and_a_line_saying_why(monkeypatch):
    monkeypatch.setattr(notebook.shutil, "which", lambda name: None)
    net = resdsl.network("specs/resnet18.res")
    page = net._repr_html_()
    assert "<svg" not in page and html.escape(notebook.NO_DOT) in page
    assert "11,689,512" in page
    assert net._repr_svg_() is None


@pytest.mark.parametrize(
    ("spec", "name", "level"),
    [
        ("cifar.res", "resnet56", "layer"),
        ("resnet152.res", None, "block"),
        ("resnet1202.res", None, "stage"),
    ],
)
def test_large_networks_are_drawn_at_a_coarser_level(spec, name, level):
    assert notebook.level(resdsl.network(f"specs/{spec}", name)) == level


def test_ipython_shows_each_as_html_and_the_network_as_svg_too():
    from IPython.core.formatters import DisplayFormatter

    formatter = DisplayFormatter()
    net = resdsl.network("specs/cifar.res", "resnet20")
    data, _ = formatter.format(net)
    assert {"text/html", "image/svg+xml", "text/plain"} <= set(data)
    assert data["text/plain"] == notebook.headline(net)
    stats, _ = formatter.format(resdsl.stats("specs/resnet18.res"))
    assert "11,689,512" in stats["text/plain"] and "<table" in stats["text/html"]
    change, _ = formatter.format(resdsl.diff("specs/resnet34.res", "specs/resnet34_a.res"))
    assert "<table" in change["text/html"] and "resnet34 -> resnet34_a" in change["text/plain"]


def test_showing_them_imports_no_torch():
    code = (
        "import sys, resdsl\n"
        "net = resdsl.network('specs/cifar.res', 'resnet20')\n"
        "net._repr_html_(); resdsl.stats(net.file, net.name)._repr_html_()\n"
        "resdsl.diff('specs/resnet34.res', 'specs/resnet34_a.res')._repr_html_()\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
