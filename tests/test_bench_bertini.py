"""The Bertini 2 peer of the numerical bench (``bench/_bertini.py``).

The input it writes is checked without Bertini; the solve needs the optional wheel ``bertini2``
(not a dependency: the bench says so and leaves the peer out), and then must find the published
counts: katsura-n has 2^n isolated regular solutions, the circle and hyperbola ``x^2 + y^2 = 5``,
``x y = 2`` meet in the four points ``(+-1, +-2)``, ``(+-2, +-1)``.
"""

import pytest

from bench._bertini import bertini_time, classic_input, unavailable
from neurovar.pipeline.numeric.solve import katsura


def test_classic_input_is_the_bertini_input_section():
    assert classic_input(["x**2 + y^2 - 5", "x*y - 2"], ["x", "y"]).splitlines() == [
        "INPUT", "variable_group x, y;", "function f1, f2;", "f1 = x^2 + y^2 - 5;", "f2 = x*y - 2;", "END;"]


@pytest.mark.parametrize("eqs, xs, why", [(["x - 1"], ["x", "y"], "square"), (["x"], ["2x"], "letters")])
def test_bad_systems_are_refused_with_the_reason(eqs, xs, why):
    with pytest.raises(ValueError, match=why):
        classic_input(eqs, xs)


@pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))
@pytest.mark.parametrize("eqs, xs, count", [(["x^2 + y^2 - 5", "x*y - 2"], ["x", "y"], 4),
                                            (*katsura(3), 2 ** 3), (*katsura(4), 2 ** 4)])
def test_bertini_finds_the_published_counts(eqs, xs, count, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    seconds, n = bertini_time(eqs, xs)
    assert n == count and seconds > 0
    assert not any(tmp_path.iterdir())  # no records written
