"""Code generation: a checked IR to the source of a readable PyTorch module, and onto disk.

    generate.py   the pass: IR -> module source, as a value (Jinja template + block classes)
    blocks.py     the block class, written from the block's recipe; the IR-vs-class check
    names.py      safe identifiers and literals (nothing from a spec reaches the source raw)
    format.py     ruff format, when ruff is installed
    emit.py       spec files -> generated/NAME.py, atomically (what `resdsl compile` does)

torch is never imported here.
"""

from __future__ import annotations

from resdsl.codegen.emit import Output, compile_specs, write_module, write_outputs
from resdsl.codegen.generate import generate, render
from resdsl.codegen.identifiers import CodegenError, Namespace

__all__ = [
    "CodegenError",
    "Namespace",
    "Output",
    "compile_specs",
    "generate",
    "render",
    "write_module",
    "write_outputs",
]
