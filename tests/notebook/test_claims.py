"""Claims: checked at full size, reported in quick mode, always with their numbers."""
import pytest

import nst_helpers as nh


def test_a_true_claim_prints_a_tick_and_its_numbers(monkeypatch, capsys):
    monkeypatch.delenv("NST_QUICK", raising=False)
    assert nh.claim("TV lowers the energy", 0.2 < 0.3, tv=0.2, plain=0.3) is None
    assert capsys.readouterr().out == "✓ claim: TV lowers the energy (tv = 0.2, plain = 0.3)\n"


def test_a_false_claim_raises_at_full_size_with_its_numbers(monkeypatch):
    monkeypatch.delenv("NST_QUICK", raising=False)
    with pytest.raises(nh.ClaimError, match=r"^claim failed: TV lowers the energy \(tv = 0.4, plain = 0.3\)$"):
        nh.claim("TV lowers the energy", 0.4 < 0.3, tv=0.4, plain=0.3)


def test_quick_mode_reports_without_checking(monkeypatch, capsys):
    monkeypatch.setenv("NST_QUICK", "1")
    assert nh.claim("TV lowers the energy", False, tv=0.4, plain=0.3) is None
    assert capsys.readouterr().out.endswith("(tv = 0.4, plain = 0.3): not checked at quick size\n")


def test_a_claim_needs_a_sentence_and_numbers():
    with pytest.raises(ValueError, match="give the numbers it rests on"):
        nh.claim("faster", True)
    with pytest.raises(ValueError, match="statement: give the sentence"):
        nh.claim("  ", True, a=1)


@pytest.mark.parametrize("new, old, words", [(0.8, 1.0, "20% lower"), (1.35, 1.0, "35% higher"),
                                             (0.97, 1.0, "a small difference (3%)"), (-2.0, -1.0, "100% lower")])
def test_changes_in_words(new, old, words):
    assert nh.describe_change(new, old) == words
    with pytest.raises(ValueError, match="from 0 is undefined"):
        nh.relative_change(1.0, 0.0)
