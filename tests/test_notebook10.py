"""Notebook 10 (fast style transfer) as committed: every experiment section checks its claims at
full size, the video GIF stays small, and the visible network matches nh.TransformNet."""
from __future__ import annotations

import base64
import copy
from pathlib import Path

import nbformat
import pytest

from test_packaging import experiment_sections

PATH = Path(__file__).resolve().parents[1] / "notebooks" / "10_fast_style_transfer.ipynb"
EXPECTED_SECTIONS = {"## The network, in code", "## Instance norm vs batch norm",
                     "## Transposed convolution vs resize-then-convolve",
                     "## The network vs Gatys, on the same held-out photo", "## How many photos, how many steps",
                     "## Video: every frame, one pass each"}
GIF_LIMIT = 500_000  # bytes, decoded


def claim_problems(nb) -> list[str]:
    """What is wrong with the notebook's claims: a section without a full-size claim, a claim not
    checked or failed, a missing experiment section."""
    problems = []
    sections = experiment_sections(nb)
    headings = {cells[0].source.splitlines()[0] for cells in sections}
    problems += [f"section {h!r} missing or not tagged 'experiment'" for h in sorted(EXPECTED_SECTIONS - headings)]
    for cells in sections:
        code = [c for c in cells if c.cell_type == "code" and "nh.claim(" in c.source]
        printed = "".join(o.get("text", "") for c in code for o in c.outputs if o.output_type == "stream")
        if "✓ claim:" not in printed:
            problems.append(f"{cells[0].source.splitlines()[0]!r}: no claim checked at full size")
    text = "".join(o.get("text", "") + str(o.get("evalue", "")) for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs)
    problems += [f"output says {s!r}" for s in ("claim failed", "not checked at quick size") if s in text]
    return problems


def gif_sizes(nb) -> list[int]:
    return [len(base64.b64decode(o["data"]["image/gif"])) for c in nb.cells if c.cell_type == "code"
            for o in c.outputs if "image/gif" in o.get("data", {})]


@pytest.fixture(scope="module")
def notebook():
    return nbformat.read(PATH, as_version=4)


def test_every_experiment_section_claims_at_full_size(notebook):
    assert claim_problems(notebook) == []


def test_the_claim_check_catches_a_quick_run_and_an_untagged_section(notebook):
    quick = copy.deepcopy(notebook)
    for cell in quick.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                out.text = out.text.replace("✓ claim:", "claim:").replace("\n", ": not checked at quick size\n", 1)
    assert claim_problems(quick)
    untagged = copy.deepcopy(notebook)
    first = next(c for c in untagged.cells if "experiment" in c.metadata.get("tags", []))
    first.metadata["tags"] = []
    assert any("missing or not tagged" in p for p in claim_problems(untagged))


def test_the_video_gif_is_small(notebook):
    sizes = gif_sizes(notebook)
    assert len(sizes) == 1 and sizes[0] < GIF_LIMIT, sizes


def test_the_notebooks_network_matches_the_library():
    import torch

    import nst_helpers as nh
    nb = nbformat.read(PATH, as_version=4)
    source = next(c.source for c in nb.cells if c.cell_type == "code" and "class MyTransformNet" in c.source)
    definitions = source[: source.index("mine, library")]
    space = {}
    exec("import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n" + definitions, space)
    for transposed, upsample in ((False, "resize"), (True, "transpose")):
        mine, library = space["MyTransformNet"](transposed), nh.TransformNet(upsample=upsample)
        assert nh.count_parameters(mine) == nh.count_parameters(library)
        assert nh.count_flops(mine, 64, 48) == nh.count_flops(library, 64, 48)
        out = mine(torch.rand(1, 3, 48, 64))
        assert out.shape == (1, 3, 48, 64) and 0 <= out.min() and out.max() <= 1
