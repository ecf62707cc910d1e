"""Claims: a sentence of a notebook that compares, stated in code with the numbers it rests on.

    nh.claim("TV lowers the high-frequency energy by 30 % or more", tv_hf < 0.7 * plain_hf,
             tv=tv_hf, plain=plain_hf)

At full size a false claim raises ClaimError, naming it and printing its numbers, so a notebook
cannot be committed saying something its own figures contradict. In quick mode (NST_QUICK=1,
tiny images and few steps) the numbers are printed with "not checked at quick size".
"""
from __future__ import annotations

from .runmode import quick_mode

#: A difference smaller than this (relative) is "small" or "no difference", never "better".
SMALL = 0.10


class ClaimError(AssertionError):
    """A notebook's claim that its own numbers do not support."""


def _numbers(numbers: dict[str, float]) -> str:
    return ", ".join(f"{name} = {float(value):.4g}" for name, value in numbers.items())


def claim(statement: str, holds: bool, **numbers: float) -> None:
    """Check `statement` (the sentence, with its margin) against `holds` (the comparison, as code).
    numbers: the values it rests on, printed either way. Raises ClaimError when `holds` is False at
    full size; returns nothing, so a claim ending a cell adds no stray output. A statement must be a
    non-empty sentence and at least one number given."""
    if not isinstance(statement, str) or not statement.strip():
        raise ValueError("statement: give the sentence the claim checks")
    if not numbers:
        raise ValueError(f"claim {statement!r}: give the numbers it rests on, e.g. tv=..., plain=...")
    shown = _numbers(numbers)
    if quick_mode():
        print(f"claim: {statement} ({shown}): not checked at quick size")
        return
    if not holds:
        raise ClaimError(f"claim failed: {statement} ({shown})")
    print(f"✓ claim: {statement} ({shown})")


def relative_change(new: float, old: float) -> float:
    """(new - old) / |old|: -0.2 means 20 % lower. ValueError when old is 0."""
    if old == 0:
        raise ValueError("old: a relative change from 0 is undefined")
    return (float(new) - float(old)) / abs(float(old))


def describe_change(new: float, old: float) -> str:
    """The change from old to new in words, as the prose should say it: "20 % lower",
    "35 % higher", or "a small difference (3 %)" below SMALL."""
    change = relative_change(new, old)
    if abs(change) < SMALL:
        return f"a small difference ({abs(change):.0%})"
    return f"{abs(change):.0%} {'lower' if change < 0 else 'higher'}"
