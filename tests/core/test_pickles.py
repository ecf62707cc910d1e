"""The restricted unpickler: numpy arrays come back, anything that would run code is refused
with one line naming the file, before it runs."""
import builtins
import os
import pickle

import numpy as np
import pytest

import nst_helpers as nh
from nst_helpers.core.pickles import load_array_pickle


class Calls:
    """Pickles as a call of `function` with `args` (what a malicious pickle does)."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def write(path, value, protocol=3):
    with open(path, "wb") as f:
        pickle.dump(value, f, protocol=protocol)
    return path


@pytest.mark.parametrize("protocol", [3, 4])
def test_nested_dicts_of_arrays_come_back(tmp_path, protocol):
    value = {"Net_0": {"Conv_0": {"kernel": np.arange(24, dtype=np.float32).reshape(2, 3, 4, 1),
                                  "bias": np.array([1.5, -2.0], dtype=">f4")}},
             "counts": np.arange(3, dtype=np.int64)}
    loaded = load_array_pickle(write(tmp_path / "ok.ckpt", value, protocol))
    assert np.array_equal(loaded["Net_0"]["Conv_0"]["kernel"], value["Net_0"]["Conv_0"]["kernel"])
    assert np.array_equal(loaded["Net_0"]["Conv_0"]["bias"], [1.5, -2.0])
    assert loaded["counts"].dtype == np.int64


@pytest.mark.parametrize("function, args, named", [
    (os.system, ("touch {marker}",), "system"),
    (builtins.exec, ("open({marker!r}, 'w').close()",), "builtins.exec"),
    (builtins.eval, ("open({marker!r}, 'w').close()",), "builtins.eval"),
])
def test_a_pickle_that_calls_anything_else_is_refused(tmp_path, function, args, named):
    marker = tmp_path / "pwned"
    args = tuple(a.format(marker=str(marker)) for a in args)
    path = write(tmp_path / "evil.ckpt", {"kernel": Calls(function, *args)})
    with pytest.raises(nh.WeightsError) as info:
        load_array_pickle(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    assert "refused to unpickle" in message and named in message and "only numpy arrays" in message
    assert not marker.exists(), "the pickled call ran"


def test_the_extractors_refuse_such_a_pickle_too(tmp_path):
    marker = tmp_path / "pwned"
    path = write(tmp_path / "vgg16.ckpt", {"VGG16_0": Calls(os.system, f"touch {marker}")})
    with pytest.raises(nh.WeightsError, match=r"vgg16\.ckpt: refused to unpickle .*system"):
        nh.VGG16Features(weights=path, device="cpu")
    assert not marker.exists()


@pytest.mark.parametrize("value, match", [
    ([np.zeros(2)], "expected a dict of numpy arrays, found list"),
    ({"a": "text"}, "expected numeric numpy arrays, found str at a"),
    ({"a": {"b": np.array([object()], dtype=object)}}, "refused to unpickle"),  # object arrays pickle their items
    ({"a": {"b": np.array(["x"])}}, "found a <U1 array at a/b"),
    ({1: np.zeros(1)}, "expected string keys, found int"),
])
def test_anything_but_dicts_of_numeric_arrays_is_refused(tmp_path, value, match):
    with pytest.raises(nh.WeightsError, match=match):
        load_array_pickle(write(tmp_path / "w.ckpt", value))


@pytest.mark.parametrize("content", [b"", b"not a pickle at all", b"\x80\x03}q\x00(X"])
def test_garbage_and_missing_files_give_one_line(tmp_path, content):
    path = tmp_path / "w.ckpt"
    path.write_bytes(content)
    with pytest.raises(nh.WeightsError, match="not a pickle of numpy arrays") as info:
        load_array_pickle(path)
    assert "\n" not in str(info.value)
    with pytest.raises(nh.WeightsError, match="not found"):
        load_array_pickle(tmp_path / "missing.ckpt")
