"""nst-fast end to end on tiny inputs, and its one-line errors."""
import shutil
import subprocess
import sys

import pytest
import torch
from PIL import Image

import nst_helpers as nh
from nst_helpers import cli_fast
from nst_helpers.methods import fasttrain

from conftest import DATA

STYLE = str(DATA / "style" / "the_scream.jpg")


@pytest.fixture()
def photo_folder(tmp_path):
    """Three small photos in three modes (RGB JPEG, grey PNG, RGBA PNG): all become RGB."""
    folder = tmp_path / "photos"
    folder.mkdir()
    with Image.open(DATA / "content" / "chelsea.jpg") as img:
        img.resize((60, 40)).save(folder / "a.jpg")
    with Image.open(DATA / "content" / "coffee.jpg") as img:
        img.convert("L").resize((48, 48)).save(folder / "b.png")
        img.convert("RGBA").resize((40, 56)).save(folder / "c.png")
    (folder / "notes.txt").write_text("not a photo; ignored")
    return folder


def run(*args):
    exe = shutil.which("nst-fast")
    cmd = [exe] if exe else [sys.executable, "-m", "nst_helpers.cli_fast"]
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=300)


def test_train_then_apply_end_to_end(tmp_path, photo_folder):
    net = tmp_path / "net.pt"
    proc = run("train", STYLE, "--photos", photo_folder, "-o", net, "--steps", "2", "--size", "48",
               "--batch-size", "2", "--device", "cpu", "-q")
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout and "2 steps on 3 photos" in proc.stdout
    assert "warning: only 3 training photos" in proc.stderr
    saved = torch.load(net, weights_only=True)
    assert saved["config"] == {"norm": "instance", "upsample": "resize"}
    assert saved["info"]["photos"] == 3 and saved["info"]["settings"]["crop"] == 48
    out = tmp_path / "out.png"
    proc = run("apply", net, DATA / "content" / "chelsea.jpg", "-o", out, "--size", "45")
    assert proc.returncode == 0, proc.stderr
    with Image.open(out) as img:
        assert img.size == (45, 30) and img.mode == "RGB"


def test_one_photo_is_enough_with_a_warning(tmp_path, photo_folder, capsys):
    for name in ("b.png", "c.png"):
        (photo_folder / name).unlink()
    code = cli_fast.main(["train", STYLE, "--photos", str(photo_folder), "-o", str(tmp_path / "n.pt"),
                          "--steps", "1", "--size", "40", "--batch-size", "1", "--device", "cpu", "-q"])
    assert code == 0
    assert "warning: only 1 training photo;" in capsys.readouterr().err


def test_ctrl_c_saves_the_weights_so_far_and_exits_130(tmp_path, photo_folder, monkeypatch, capsys):
    crops = fasttrain.random_crops
    calls = {"n": 0}

    def interrupt_on_the_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return crops(*args, **kwargs)

    monkeypatch.setattr(fasttrain, "random_crops", interrupt_on_the_third)
    net = tmp_path / "net.pt"
    code = cli_fast.main(["train", STYLE, "--photos", str(photo_folder), "-o", str(net), "--steps", "50",
                          "--size", "40", "--batch-size", "1", "--device", "cpu", "-q"])
    assert code == 130
    assert "interrupted after 2 steps; saved the weights so far" in capsys.readouterr().err
    assert nh.network_info(net)["steps"] == 2
    assert isinstance(nh.load_network(net), nh.TransformNet)


def bad_inputs(tmp, photos):
    (tmp / "empty").mkdir()
    (tmp / "broken").mkdir()
    (tmp / "broken" / "x.jpg").write_bytes(b"not a jpeg at all")
    (tmp / "tiny").mkdir()
    Image.new("RGB", (20, 200)).save(tmp / "tiny" / "t.png")
    (tmp / "junk.pt").write_bytes(b"\x00junk" * 50)
    torch.save({"conv1_1.weight": torch.zeros(1)}, tmp / "foreign.pt")
    net = tmp / "good.pt"
    nh.save_network(nh.TransformNet(), net)
    photo = str(DATA / "content" / "chelsea.jpg")
    train = ["train", STYLE, "-o", str(tmp / "n.pt"), "--steps", "1", "--size", "40", "-q", "--photos"]
    return [
        (train + [str(tmp / "missing")], "missing: folder not found"),
        (train + [str(tmp / "empty")], "empty: no photos in this folder"),
        (train + [str(tmp / "broken")], "x.jpg: not an image"),
        (train + [str(tmp / "tiny")], "t.png: 20x200 is too small for training"),
        (["train", str(tmp / "nostyle.jpg"), "-o", str(tmp / "n.pt"), "--photos", str(photos)], "nostyle.jpg: file not found"),
        (["train", STYLE, "-o", str(tmp / "n.pt"), "--steps", "0", "--photos", str(photos)], "--steps must be positive"),
        (["train", STYLE, "-o", str(tmp / "n.pt"), "--size", "8", "--photos", str(photos)], "--size must be at least 32"),
        (["train", STYLE, "-o", str(tmp / "no" / "n.pt"), "--photos", str(photos)], "does not exist"),
        (["train", STYLE, "-o", str(tmp / "n.pt"), "--lr", "-1", "--photos", str(photos)], "lr must be a finite number > 0"),
        (["apply", str(tmp / "junk.pt"), photo, "-o", str(tmp / "o.png")], "junk.pt: not a readable network file"),
        (["apply", str(tmp / "foreign.pt"), photo, "-o", str(tmp / "o.png")], "foreign.pt: not a feed-forward style network"),
        (["apply", str(tmp / "none.pt"), photo, "-o", str(tmp / "o.png")], "none.pt: network file not found"),
        (["apply", str(net), str(tmp / "broken" / "x.jpg"), "-o", str(tmp / "o.png")], "x.jpg: not an image"),
        (["apply", str(net), photo, "-o", str(tmp / "o.gif2")], "output must end in"),
        (["apply", str(net), photo, "-o", str(tmp / "o.png"), "--device", "cuda:x"], "device:"),
    ]


def test_bad_input_is_exit_2_with_one_line(tmp_path, photo_folder, capsys):
    for args, message in bad_inputs(tmp_path, photo_folder):
        code = cli_fast.main(args)
        err = capsys.readouterr().err
        assert code == 2, (args, err)
        assert message in err, (message, err)
        assert len(err.strip().splitlines()) == 1 and err.startswith("nst-fast: error: "), err
        assert not (tmp_path / "n.pt").exists() and not (tmp_path / "o.png").exists()
