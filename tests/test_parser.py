"""The safe parser: exact expansion, and every non-polynomial string rejected."""

from fractions import Fraction

import pytest

from neurovar.pipeline.algebra.parser import PolynomialSyntaxError, parse_polynomial, parse_system, univariate_coefficients


def test_expansion_is_exact():
    p = parse_polynomial("(x^2 - y^2)^2 + (2*x*y)^2 - (x^2 + y^2)^2", ["x", "y"])
    assert p == 0  # the Pythagorean identity
    assert str(parse_polynomial("(x - 3*y)^3", ["x", "y"])) == "x^3 - 9*x^2*y + 27*x*y^2 - 27*y^3"


def test_decimals_are_rationals():
    assert univariate_coefficients("0.5*x^2 - 1.25") == [Fraction(-5, 4), 0, Fraction(1, 2)]


def test_unary_minus_binds_looser_than_power():
    assert univariate_coefficients("-x^2") == [0, 0, -1]


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "x**2",
        "x/2",
        "2x",
        "x^y",
        "x^-1",
        "exp(x)",
        "x;y",
        "",
        "x +",
        "(x+1",
        "x^2^3",
        "1e5*x",
        "x^100000",
        "lambda: 0",
    ],
)
def test_rejects_everything_else(text):
    with pytest.raises(PolynomialSyntaxError):
        parse_polynomial(text, variables=["x"])


def test_system_shares_one_ring():
    ctx, (f, g) = parse_system("x^2 + y^2 - 1; x - y")
    assert ctx.names() == ("x", "y")
    assert f.total_degree() == 2 and g.total_degree() == 1
