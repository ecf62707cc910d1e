import shutil
import subprocess
import sys

import pytest
from PIL import Image

from nst_helpers import cli

from conftest import DATA


def test_cli_end_to_end_on_tiny_images(tmp_path):
    exe = shutil.which("nst-transfer")
    cmd = [exe] if exe else [sys.executable, "-m", "nst_helpers.cli"]
    out = tmp_path / "result.png"
    proc = subprocess.run(cmd + [str(DATA / "content" / "chelsea.jpg"), str(DATA / "style" / "the_scream.jpg"),
                                 "-o", str(out), "--size", "48", "--steps", "3", "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout
    with Image.open(out) as img:
        assert img.size == (48, 32)


@pytest.mark.parametrize("args, message", [
    (["missing.jpg", "{style}", "-o", "{out}"], "missing.jpg: file not found"),
    (["{content}", "{style}", "-o", "{tmp}/nofolder/x.png"], "does not exist"),
    (["{content}", "{style}", "-o", "{tmp}/x.gif2"], "output must end in"),
    (["{content}", "{style}", "-o", "{out}", "--steps", "0"], "--steps must be positive"),
    (["{content}", "{style}", "-o", "{out}", "--size", "8"], "--size must be at least 16"),
    (["{content}", "{style}", "-o", "{out}", "--style-weight", "-5"], "style_weight must be a finite number >= 0"),
    (["{content}", "{style}", "-o", "{out}", "--weights", "{tmp}/none.pth"], "weights file not found"),
])
def test_cli_bad_input_is_exit_2_with_one_line(tmp_path, capsys, args, message):
    fill = {"content": str(DATA / "content" / "chelsea.jpg"), "style": str(DATA / "style" / "the_scream.jpg"),
            "out": str(tmp_path / "o.png"), "tmp": str(tmp_path)}
    code = cli.main([a.format(**fill) for a in args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("nst-transfer: error: ")
    assert not (tmp_path / "o.png").exists()
