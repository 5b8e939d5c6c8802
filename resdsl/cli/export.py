"""``resdsl export``: a generated network to ONNX or a torch.export program, checked."""

from __future__ import annotations

import click


@click.command(short_help="Export to ONNX or torch.export, checked.")
@click.argument("module", metavar="MODULE")
@click.option("--onnx", metavar="OUT.onnx", help="Write an ONNX file (dynamic batch).")
@click.option("--exported", metavar="OUT.pt2", help="Write a torch.export program.")
@click.option("--batch", type=int, default=2, show_default=True, help="Example batch size.")
def export(module: str, onnx: str | None, exported: str | None, batch: int) -> None:
    """Export the network of MODULE (generated/NAME.py) and check the export.

    Each file is run again on a random batch and its outputs compared with the module's
    (onnxruntime for ONNX, when installed); it is written only if they agree.

    \b
      resdsl export generated/resnet50.py --onnx resnet50.onnx
      resdsl export generated/resnet20.py --exported resnet20.pt2
    """
    from resdsl.export import export as run

    for done in run(module, onnx=onnx, exported=exported, batch=batch):
        click.echo(done.describe())
