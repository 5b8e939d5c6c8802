"""Devices and sizes for --fits, the reserve kept back, and the answer at the largest batch."""

from __future__ import annotations

import pytest

from resdsl.diagnostics import ResdslError
from resdsl.memory import answer, fit, parse_device, request, training_memory
from resdsl.memory.fits import GIB, RESERVE_FIXED, RESERVE_FRACTION
from resdsl.pipeline import check_or_raise


@pytest.mark.parametrize(
    ("text", "name", "capacity"),
    [
        ("h100", "h100", 80 * GIB),
        ("A100-40GB", "a100-40gb", 40 * GIB),
        ("rtx4090", "rtx4090", 24 * GIB),
        ("80GiB", "80 GiB", 80 * GIB),
        ("24 gib", "24 GiB", 24 * GIB),
        ("40GB", "40 GB", 40 * 10**9),
        ("16384MiB", "16384 MiB", 16 * GIB),
        ("1.5TiB", "1.5 TiB", 3 * 2**39),
    ],
)
def test_devices_and_sizes(text: str, name: str, capacity: int) -> None:
    device = parse_device(text)
    assert (device.name, device.capacity) == (name, capacity)


def test_the_reserve_is_a_gib_and_a_tenth_of_the_rest() -> None:
    device = parse_device("80GiB")
    assert device.reserved == RESERVE_FIXED + round(RESERVE_FRACTION * 79 * GIB)
    assert device.usable == round(0.9 * 79 * GIB)
    assert parse_device("512MiB").usable == 0  # all of it reserved


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("80GB?", "--fits 80GB?: not a memory size or a known device (sizes: 80GiB"),
        ("80", "--fits 80: give a unit, e.g. 80GiB"),
        ("h10", "did you mean h100?"),
        ("rtx409", "did you mean rtx4090?"),
        ("a100", "a100 comes as a100-80gb or a100-40gb"),
        ("0GiB", "not a memory size"),
        ("80 parsecs", "not a memory size"),
    ],
)
def test_bad_budgets_are_one_clear_error(text: str, says: str) -> None:
    with pytest.raises(ResdslError) as raised:
        parse_device(text)
    assert says in str(raised.value) and "\n" not in str(raised.value)


def test_the_largest_batch_fits_and_one_more_does_not() -> None:
    (net,) = check_or_raise("specs/resnet18.res")
    device = parse_device("rtx4090")
    report = training_memory(net, 1, "bf16-autocast")
    found = fit(report.trace, device)
    assert found.batch > 100
    assert training_memory(net, found.batch, "bf16-autocast").peak.bytes == found.peak
    assert found.peak <= device.usable
    assert training_memory(net, found.batch + 1, "bf16-autocast").peak.bytes > device.usable


def test_answer_without_a_batch_reports_the_largest_that_fits() -> None:
    (net,) = check_or_raise("specs/resnet110.res")
    view = answer(net, request(None, "fp32", "adam", "t4", True))
    assert view.fit is not None and view.report.batch == view.fit.batch > 1000
    assert view.checkpoint is not None and view.checkpoint_fit is not None
    assert view.checkpoint_fit.batch > view.fit.batch  # checkpointing buys a larger batch


def test_nothing_fits_a_tiny_device() -> None:
    (net,) = check_or_raise("specs/resnet152.res")
    view = answer(net, request(None, "fp32", "sgd-momentum", "1200MiB", False))
    assert view.fit is not None and view.fit.batch == 0 and view.report.batch == 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((0, "fp32", "sgd", None, False), "--batch 0: a batch holds at least one image"),
        ((8, "fp16", "sgd", None, False), "--precision fp16: not fp32 or bf16-autocast"),
        ((8, "bf16", "sgd", None, False), "did you mean bf16-autocast?"),
        ((8, "fp32", "adamw", None, False), "--optimizer adamw: not sgd, sgd-momentum or adam"),
        ((None, "fp32", "sgd", None, False), "--memory needs --batch N, or --fits DEVICE"),
    ],
)
def test_requests_are_checked(args: tuple, says: str) -> None:
    with pytest.raises(ResdslError, match=says.replace("?", r"\?")):
        request(*args)
