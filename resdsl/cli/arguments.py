"""Arguments and options that several commands share."""

from __future__ import annotations

import click

# Spec arguments are plain strings (not click.Path(exists=True)) so that a missing file gets
# the same file:line:col diagnostic as every other error.
SPECS = click.argument("files", nargs=-1, required=True, metavar="FILES...")


def convention_options(command):
    """The flags that choose what counts, shared by stats and diff."""
    options = [
        click.option("--count-bn", is_flag=True, help="Count batch norm: 1 per element."),
        click.option("--count-relu", is_flag=True, help="Count ReLU: 1 per element."),
        click.option("--count-pool", is_flag=True, help="Count max/average pooling."),
        click.option("--count-add", is_flag=True, help="Count residual additions: 1 per element."),
        click.option("--count-all", is_flag=True, help="All four of the above."),
        click.option(
            "--flops-2x",
            is_flag=True,
            help="Report FLOPs as 2 x multiply-adds (torch.utils.flop_counter's unit).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def convention(count_bn, count_relu, count_pool, count_add, count_all, flops_2x):
    """The :class:`~resdsl.ir.costs.Convention` the flags ask for."""
    from resdsl.ir.costs import Convention

    return Convention(
        bn=count_bn or count_all,
        relu=count_relu or count_all,
        pool=count_pool or count_all,
        add=count_add or count_all,
        flops_as_2x_macs=flops_2x,
    )


def memory_options(command):
    """The options of ``resdsl stats --memory``; checked by :func:`resdsl.memory.request`, so
    every mistake is one line and exit status 1."""
    options = [
        click.option(
            "--memory",
            is_flag=True,
            help="Predict the memory of one training step (needs --batch or --fits).",
        ),
        click.option("--batch", type=int, help="Images per step, for --memory."),
        click.option(
            "--precision",
            default="fp32",
            show_default=True,
            help="fp32, or bf16-autocast (torch.autocast with bfloat16, as the runner on CUDA).",
        ),
        click.option(
            "--optimizer",
            default="sgd-momentum",
            show_default=True,
            help="sgd, sgd-momentum (the runner's) or adam: how much state it keeps.",
        ),
        click.option(
            "--fits",
            metavar="DEVICE",
            help="The largest batch that fits a device (h100, a100-40gb, rtx4090, ...) or a "
            "size (80GiB, 40GB); implies --memory.",
        ),
        click.option(
            "--checkpoint",
            default="none",
            show_default=True,
            help="stages: also show activation checkpointing of every stage; implies --memory.",
        ),
        click.option(
            "--kernels",
            default="cuda",
            show_default=True,
            help="Whose kernels run the step: cuda, or cpu (where dropout keeps its mask in the "
            "input's dtype rather than one byte).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command
