"""The bundled training runner: ``resdsl train generated/NAME.py``.

The only part of resdsl that imports torch, and it does so lazily: importing this package (or
:mod:`resdsl.train.config`) never imports torch, so ``resdsl check/compile/stats`` stay fast.

Public API, kept stable for the experiments built on it::

    from resdsl.train.config import TrainConfig, recipe
    from resdsl.train.runner import train, RunSummary

    summary = train(recipe("digits", module="generated/resnet20.py", steps=300))
    print(summary.final_test_error)

Modules: ``config`` (recipes, lr schedule), ``module`` (load a generated file), ``data`` (digits,
CIFAR, synthetic), ``folder`` (ImageFolder, PIL decoding), ``jpeg`` (ImageFolder, nvJPEG decoding
on the GPU), ``batches`` (choose a source, batches on the device), ``checkpoint`` (atomic and
staged writes, schema-checked loads), ``distributed`` (torchrun process group), ``probe`` (timed
passes), ``plan`` (the plan printed before step 1), ``runner`` (check everything, then set up),
``loop`` (the iterations, evaluations, a clean stop), ``session`` (the run's records), ``progress``
(bar, plain lines, Ctrl-C), ``report`` (metrics.jsonl, summary, an experiment's progress), ``plot``
(Fig. 6 style PNG), ``errors`` (TrainError). The click command is :mod:`resdsl.cli.train`;
docs/train.md has every option.
"""

from __future__ import annotations

from resdsl.train.errors import TrainError

__all__ = ["TrainError"]
