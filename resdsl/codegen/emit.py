"""Spec files to generated modules on disk: what ``resdsl compile`` does, minus click.

    >>> outputs = compile_specs(["specs/cifar.res"], "generated")
    >>> [o.path.name for o in outputs][:2]
    ['resnet20.py', 'resnet32.py']
    >>> [o.path.name for o in outputs if o.stale()]                  # what --check reports
    []

Every file is compiled before anything is written, so a spec error leaves the output folder
as it was. torch is not imported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from resdsl.codegen.generate import generate
from resdsl.codegen.names import Namespace
from resdsl.pipeline import check_or_raise

DEFAULT_OUTPUT = "generated"


@dataclass(frozen=True)
class Output:
    """One generated module: the network, where it goes, and its source."""

    network: str
    spec: str
    path: Path
    source: str

    def stale(self) -> bool:
        """True when the file on disk is missing or differs from ``source``."""
        try:
            return self.path.read_text(encoding="utf-8") != self.source
        except (FileNotFoundError, UnicodeDecodeError):
            return True

    def write(self) -> bool:
        """Write the file if it changed; True if it was written."""
        return write_module(self.source, self.path)


def compile_specs(
    files: Iterable[str | Path], output: str | Path = DEFAULT_OUTPUT, network: str | None = None
) -> list[Output]:
    """The modules of every concrete network in ``files`` (only ``network`` if given).

    Raises :class:`~resdsl.diagnostics.ResdslError` for a spec error (an unknown
    ``network`` included), and a located :class:`~resdsl.codegen.CodegenError` for a name
    that is unsafe or that two networks would both write.
    """
    outputs: list[Output] = []
    claimed = Namespace()  # one file per name across all FILES
    for file in dict.fromkeys(files):  # a file named twice is compiled once
        for net in check_or_raise(file, network):
            name = claimed.claim(net.name, net.name_span, "network name")
            # The header names the canonical command (not this invocation's argv), so that
            # the file is the same however it was compiled: `--check` compares exact text.
            source = generate(net)
            outputs.append(Output(name, str(file), Path(output) / f"{name}.py", source))
    return outputs


def write_module(source: str, path: str | Path) -> bool:
    """Write ``source`` to ``path`` unless it already holds exactly that; True if written."""
    path = Path(path)
    try:
        if path.read_text(encoding="utf-8") == source:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(source, encoding="utf-8")
    temporary.replace(path)  # atomic: a reader never sees half a module
    return True
