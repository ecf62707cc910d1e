"""Notebook 06's Gatys from scratch really is from scratch: its cells use only torch, nh.load_image,
the state-dict accessor and plotting (the library appears only as the student version's fallback)."""
import ast

import nbformat
import pytest

from conftest import ROOT

NOTEBOOK = ROOT / "notebooks" / "06_neural_style_transfer.ipynb"
TAG = "from-scratch"
ALLOWED_MODULES = {"torch", "torch.nn", "collections", "time", "matplotlib.pyplot"}
ALLOWED_NH = {"load_image", "vgg19_state_dict", "show_images"}


def fallback_lines(tree: ast.AST) -> set[int]:
    """Lines inside `except NotImplementedError:` handlers: the student version's way out."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and isinstance(node.type, ast.Name) \
                and node.type.id == "NotImplementedError":
            for inner in ast.walk(node):
                if hasattr(inner, "lineno"):
                    lines.add(inner.lineno)
    return lines


def library_uses(source: str) -> list[str]:
    """What a from-scratch cell takes from outside: 'import X' modules and 'nh.X' names, except
    in a NotImplementedError fallback."""
    tree = ast.parse(source)
    spared = fallback_lines(tree)
    found = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in spared:
            continue
        if isinstance(node, ast.Import):
            found += [f"import {alias.name}" for alias in node.names if alias.name not in ALLOWED_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module not in ALLOWED_MODULES:
            found.append(f"from {node.module} import ...")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "nh" \
                and node.attr not in ALLOWED_NH:
            found.append(f"nh.{node.attr}")
    return found


def from_scratch_cells() -> list[str]:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    return [cell.source for cell in nb.cells if TAG in cell.get("metadata", {}).get("tags", [])]


def test_the_from_scratch_cells_are_there():
    sources = from_scratch_cells()
    assert len(sources) >= 4
    joined = "\n".join(sources)
    for piece in ("nh.vgg19_state_dict()", "nn.Conv2d", "torch.optim.LBFGS", "def gram", "closure"):
        assert piece in joined, f"the from-scratch cells lost {piece}"


@pytest.mark.parametrize("index", range(len(from_scratch_cells())))
def test_a_from_scratch_cell_uses_only_torch_the_weights_and_plots(index):
    assert library_uses(from_scratch_cells()[index]) == []


@pytest.mark.parametrize("source, found", [
    ("x = nh.gram_matrix(f)", ["nh.gram_matrix"]),
    ("from nst_helpers.core.losses import gram_matrix", ["from nst_helpers.core.losses import ..."]),
    ("import numpy", ["import numpy"]),
    ("r = nh.optimize(loss, image, 10)", ["nh.optimize"]),
    ("try:\n    v = build()\nexcept NotImplementedError:\n    v = nh.get_extractor()", []),
    ("try:\n    v = build()\nexcept ValueError:\n    v = nh.get_extractor()", ["nh.get_extractor"]),
    ("import torch\nx = nh.load_image('a.jpg')", []),
])
def test_the_walker_finds_library_calls(source, found):
    assert library_uses(source) == found
