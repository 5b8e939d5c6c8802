"""Where a network's modules live and what a derivation replaces: ``modules "..."``, ``stem
NAME(...)``, ``head NAME``, named Sequential items and ``LAYER for WORD``, as
specs/zoo/timm_resnetv2.res uses them for timm's ResNetV2."""

from __future__ import annotations

import resdsl

ZOO = "specs/zoo/timm_resnetv2.res"


def test_blocks_live_where_modules_says():
    net = resdsl.network(ZOO, "resnetv2_50")
    paths = [node.path for node in net.nodes]
    assert paths[1:3] == ["stem.conv", "stem.pool"]
    assert "stages.0.blocks.0.downsample.conv" in paths
    assert "stages.3.blocks.2.conv3" in paths and not any(p.startswith("layer") for p in paths)
    assert paths[-4:] == ["relu", "head.global_pool", "head.fc", "head.flatten"]


def test_a_replacement_keeps_labels_and_a_run_becomes_one_layer():
    gn = resdsl.network(ZOO, "resnetv2_50d_gn")
    evos = resdsl.network(ZOO, "resnetv2_50d_evos")
    assert {n.op.kind for n in gn.nodes if n.path == "stem.norm1"} == {"gn"}
    assert [n.path for n in evos.nodes if n.section == "stem"][:3] == [
        "stem.conv1",
        "stem.norm1",
        "stem.conv2",
    ]
    assert not any(n.op.kind == "relu" for n in evos.nodes)


def test_the_bit_stem_takes_its_width(tmp_path):
    net = resdsl.network(ZOO, "resnetv2_50x3_bit")
    conv, pad, pool = net.nodes[1:4]
    assert (conv.op.kind, conv.shape) == ("stdconv", (192, 224, 224))
    assert (pad.shape, pool.shape) == ((192, 226, 226), (192, 112, 112))


def test_what_the_new_forms_get_wrong(tmp_path):
    spec = tmp_path / "bad.res"
    spec.write_text(
        f'use "{_rel(tmp_path)}"\n'
        "block x = v2_head with gn 32 for nope\n"
        "network n = resnetv2_50 with head missing\n"
    )
    messages = [d.message for d in resdsl.check(spec).diagnostics]
    assert any("v2_head has no layer nope to replace" in m for m in messages), messages
    assert any("unknown head missing" in m for m in messages), messages
    bad = tmp_path / "pattern.res"
    bad.write_text(
        'network n { input 3x32x32 classes 10 modules "stages.{block}" stage 1 x 16 '
        "head { avgpool fc } }\n"
    )
    (problem,) = resdsl.check(bad).diagnostics
    assert problem.message.startswith("modules is a container, {stage}")


def _rel(folder) -> str:
    import os
    from pathlib import Path

    return os.path.relpath(Path(ZOO).resolve(), folder)
