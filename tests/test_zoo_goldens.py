"""The ResNet zoo's golden files hold together, read with CPU torch alone.

``tests/fixtures/oracle_zoo.py``, run beside torchvision 0.29.1 and timm 1.0.31 (never here),
recorded every ResNet of torchvision's ``resnet.py`` and timm's ``resnet.py``, ``resnetv2.py``,
``senet.py``, ``resnest.py``, ``res2net.py`` and ``sknet.py`` into ``tests/golden/zoo/``. Here:
every file is present with every model the oracle enumerated, each entry is consistent with
itself (parameters are its state_dict less its buffers; MACs half its FLOPs; its outputs the
shape its class count gives), the fixed state_dict rebuilt from its keys and shapes alone
hashes to the recorded digest (so this torch and numpy make the weights the outputs were
computed under), the files agree with the family's goldens where they overlap, and
``features.json`` covers every model.
"""

from __future__ import annotations

import gzip
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.fixtures import family, zoo

ROOT = Path(__file__).resolve().parent.parent

# What the oracle enumerated from torchvision 0.29.1 and timm 1.0.31 (timm's test_resnet aside).
COUNTS = {
    "torchvision_resnet": 10,
    "timm_resnet": 80,
    "timm_resnetv2": 20,
    "timm_senet": 9,
    "timm_resnest": 8,
    "timm_res2net": 9,
    "timm_sknet": 5,
}
# Rebuilding and hashing the fixed state costs about 40 ns a number on one core of the shared
# 2-core machine, and the zoo holds 8.6e9 numbers (the oracle hashed every model twice and
# found the digests equal): CI hashes, for each distinct set of module classes in a golden
# file, its smallest model (34 models, 7.6e8 numbers), so every kind of module, and so of
# state_dict key, that the zoo holds is rebuilt at least once.


def _golden(stem: str) -> dict:
    return zoo.load_file(stem)


GOLDENS = {stem: _golden(stem) for stem in COUNTS}
MODELS = [(stem, name) for stem, data in GOLDENS.items() for name in data["models"]]
HEALTHY = [(s, n) for s, n in MODELS if "error" not in GOLDENS[s]["models"][n]]


def _hashed() -> list[tuple[str, str]]:
    """Per golden file and set of module classes, the model with the fewest numbers."""
    chosen: dict[tuple, tuple[str, str]] = {}
    for stem, name in HEALTHY:
        entry = GOLDENS[stem]["models"][name]
        kind = (stem, tuple(sorted(entry["modules"])))
        best = chosen.get(kind)
        if (
            best is None
            or entry["state_numel"] < GOLDENS[best[0]]["models"][best[1]]["state_numel"]
        ):
            chosen[kind] = (stem, name)
    return sorted(chosen.values())


HASHED = _hashed()


def test_every_file_is_present_with_the_models_the_oracle_found():
    assert set(zoo.FILES) == set(COUNTS)
    assert sorted(p.name for p in zoo.ZOO.iterdir()) == sorted(
        [zoo.path_of(stem).name for stem in COUNTS] + ["features.json", "run.json"]
    )
    for stem, count in COUNTS.items():
        data = GOLDENS[stem]
        library, file, group = zoo.FILES[stem]
        assert (data["library"], data["file"], data["group"]) == (library, file, group)
        assert data["count"] == count == len(data["models"]), stem
        assert data["errors"] == sorted(n for n, e in data["models"].items() if "error" in e)
        for name, entry in data["models"].items():
            assert (entry["name"], entry["library"], entry["file"]) == (name, library, file)
            assert not name.startswith("test_")


def test_files_are_written_as_the_oracle_writes_them():
    """Sorted keys and one layout (``zoo.encode``); gzipped (mtime 0) only above 1.5 MB."""
    for stem in COUNTS:
        path = zoo.path_of(stem)
        raw = path.read_bytes()
        text = gzip.decompress(raw) if path.suffix == ".gz" else raw
        assert text == (zoo.encode(zoo.load(path)) + "\n").encode(), stem
        if path.suffix == ".gz":
            assert len(text) > zoo.GZIP_ABOVE and raw[4:8] == b"\0\0\0\0", stem  # mtime 0
        else:
            assert len(text) <= zoo.GZIP_ABOVE, stem


@pytest.mark.parametrize(("stem", "name"), HEALTHY, ids=[n for _, n in HEALTHY])
def test_entry_is_consistent_with_itself(stem, name):
    entry = GOLDENS[stem]["models"][name]
    keys = [key for key, _ in entry["state_dict"]]
    assert len(set(keys)) == len(keys)
    assert set(entry["buffers"]) <= set(keys)
    assert [k for k in keys if k in set(entry["buffers"])] == entry["buffers"]
    assert entry["params"] == zoo.parameter_count(entry)
    numel = sum(math.prod(shape) for _, shape in entry["state_dict"])
    assert entry["state_numel"] == numel
    assert entry["flops"] == 2 * entry["macs"] > 0
    assert entry["flops_input"] == [1, *entry["input_size"]]
    assert all(count > 0 for count in entry["modules"].values())
    assert set(entry["modules"]) == set(entry["module_paths"])
    outputs = entry["outputs"]
    assert outputs["shape"] == [2, entry["num_classes"]]
    assert outputs["input"][:2] == [2, 3] and outputs["input"][2] == outputs["input"][3] >= 64
    assert [len(row) for row in outputs["first_logits"]] == [zoo.FIRST_LOGITS] * 2
    assert all(0 <= i < entry["num_classes"] for i in outputs["argmax"])
    assert (
        0
        < abs(outputs["sum"])
        <= outputs["abs_sum"]
        <= 2 * outputs["shape"][1] * outputs["max_abs"]
    )
    assert outputs["max_abs_diff_rebuilt"] == 0.0  # a second build, loaded alike, agreed


@pytest.mark.parametrize(("stem", "name"), HASHED, ids=[f"{s}-{n}" for s, n in HASHED])
def test_fixed_state_rebuilt_from_keys_and_shapes_has_the_recorded_digest(stem, name):
    entry = GOLDENS[stem]["models"][name]
    digest, numel = zoo.state_digest(entry["state_dict"])
    assert (digest, numel) == (entry["digest"], entry["state_numel"])


def test_hashed_models_hold_every_module_class_and_equal_state_dicts_share_a_digest():
    hashed = {c for s, n in HASHED for c in GOLDENS[s]["models"][n]["modules"]}
    assert hashed == {c for s, n in HEALTHY for c in GOLDENS[s]["models"][n]["modules"]}
    assert {stem for stem, _ in HASHED} == set(COUNTS)
    by_digest: dict[str, list] = {}
    for stem, name in HEALTHY:
        entry = GOLDENS[stem]["models"][name]
        by_digest.setdefault(entry["digest"], []).append(entry["state_dict"])
    assert all(all(sd == sds[0] for sd in sds) for sds in by_digest.values())
    assert len(by_digest) < len(HEALTHY)  # torchvision's resnet50 is timm's, key for key


def test_digest_depends_on_every_key_shape_and_value():
    state = GOLDENS["torchvision_resnet"]["models"]["resnet18"]["state_dict"][:30]
    base = zoo.state_digest(state)
    renamed = [[("x" + k if i == 3 else k), s] for i, (k, s) in enumerate(state)]
    reshaped = [[k, [*s[:-1], s[-1] + 1] if i == 0 else s] for i, (k, s) in enumerate(state)]
    assert len({base[0], zoo.state_digest(renamed)[0], zoo.state_digest(reshaped)[0]}) == 3
    assert zoo.state_digest(state, seed=1)[0] != base[0]
    assert zoo.state_digest(state) == base


def test_the_zoo_agrees_with_the_family_goldens():
    """The 13 family networks: same keys, shapes, parameters, FLOPs and outputs."""
    keys = family.load_golden(family.FAMILY_GOLDEN)
    outputs = family.load_golden(family.OUTPUTS_GOLDEN)
    zoo_models = {n: e for data in GOLDENS.values() for n, e in data["models"].items()}
    assert set(keys) == set(family.ORACLE)
    for name in family.ORACLE:
        entry = zoo_models[name]
        assert entry["state_dict"] == [[k, s] for k, s in keys[name]["state_dict"].items()]
        assert (entry["params"], entry["flops"]) == (keys[name]["params"], keys[name]["flops"])
        ours, theirs = entry["outputs"], outputs[name]
        assert ours["argmax"] == theirs["argmax"] and ours["input"] == theirs["input"]
        first = [row[: zoo.FIRST_LOGITS] for row in theirs["first_logits"]]
        for got, want in (
            ([ours["sum"], ours["abs_sum"]], [theirs["sum"], theirs["abs_sum"]]),
            (ours["first_logits"], first),
        ):
            torch.testing.assert_close(torch.tensor(got), torch.tensor(want), rtol=1e-9, atol=1e-9)


def test_features_cover_every_model_and_the_summary_recounts():
    features = zoo.load(zoo.FEATURES)
    rows = features["models"]
    assert sorted(rows) == sorted(f"{zoo.FILES[s][0]}/{n}" for s, n in MODELS)
    assert features["count"] == len(MODELS) == sum(COUNTS.values())
    recount: dict[str, list[str]] = {}
    for name in sorted(rows):
        for tag in rows[name].get("needs", []):
            recount.setdefault(tag, []).append(name)
    assert {t: (s["count"], s["models"]) for t, s in features["summary"].items()} == {
        t: (len(names), names) for t, names in recount.items()
    }
    torchvision = [n for n, r in rows.items() if r["library"] == "torchvision"]
    assert len(torchvision) == COUNTS["torchvision_resnet"]
    assert all(rows[n]["needs"] in ([], ["grouped conv (as torchvision's ResNeXt)"])
               for n in torchvision)  # fmt: skip
    for stem, name in HEALTHY:
        row, entry = rows[f"{zoo.FILES[stem][0]}/{name}"], GOLDENS[stem]["models"][name]
        assert sum(map(len, row["block_widths"])) == sum(row["layers"])
        assert row["pruned"] == entry["pruned"] == (not row["uniform_widths"])


def test_oracle_zoo_imports_without_the_libraries():
    code = (
        "import sys, tests.fixtures.oracle_zoo as o; "
        "assert 'torchvision' not in sys.modules and 'timm' not in sys.modules; print(o.COMMAND)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "oracle_zoo" in done.stdout
