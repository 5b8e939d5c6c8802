"""docs/tour.ipynb, executed end to end in a Jupyter kernel (nbclient, ipykernel): it must run
without an error and print what its committed outputs say, so it never goes stale."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT

TOUR = ROOT / "docs" / "tour.ipynb"


def _texts(notebook) -> list[list[str]]:
    """Each code cell's printed text (however the kernel split it into messages) and plain-text
    results (the HTML and SVG hold Graphviz's layout, which depends on its version; the text
    does not)."""
    found = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        texts = ["".join(o.text for o in cell.outputs if o.output_type == "stream")]
        for output in cell.outputs:
            if output.output_type == "stream":
                continue
            elif output.output_type in ("execute_result", "display_data"):
                texts.append(output.data.get("text/plain", ""))
            else:
                texts.append(f"{output.output_type}: {output.get('ename')} {output.get('evalue')}")
        found.append(texts)
    return found


@pytest.mark.slow
def test_the_tour_runs_and_its_committed_outputs_are_what_it_prints():
    committed = nbformat.read(TOUR, as_version=4)
    executed = nbformat.read(TOUR, as_version=4)
    NotebookClient(
        executed, timeout=600, kernel_name="python3", resources={"metadata": {"path": TOUR.parent}}
    ).execute()
    assert _texts(executed) == _texts(committed), (
        "re-run it: cd docs && jupyter-execute --inplace tour.ipynb"
    )
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o.data["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("<svg" in page for page in html)  # the network, drawn (CI has Graphviz)
    printed = "".join(o.get("text", "") for o in outputs)
    assert "172506 True" in printed and "network tour_again {" in printed
