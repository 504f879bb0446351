"""A bridge to the ``Singular`` executable: certified counts of zero-dimensional systems over ``GF(p)``.

``Singular`` (Decker, Greuel, Pfister, Schönemann) is the computer algebra
system of the Debian package ``singular``. For small systems its standard
basis (``std``) in a degree order finishes in milliseconds, where ``msolve``
spends most of its time on the rational parametrization: when the ideal is not
in generic position msolve retries several variable orders, then adds a linear
form, about 0.1 s per attempt. A count needs no parametrization.

For each system ``f_1 .. f_m`` in ``x_0 .. x_{n-1}`` over ``GF(p)`` one script
(one process for all the systems of a cell) computes

1. ``G = std(I)``, the reduced standard basis of ``I = (f_1, .., f_m)`` in
   degree reverse lexicographic order;
2. the Krull dimension ``dim(G)`` (``-1``: no solution; ``> 0``: a
   positive-dimensional component) and, when it is 0, ``vdim(G)`` =
   ``dim_K K[x]/I``, the number of solutions over the algebraic closure
   counted with multiplicity (the number of standard monomials ``kbase(G)``);
3. the normal forms of ``1, l, l^2, .., l^vdim`` for a random linear form
   ``l = sum c_i x_i`` (each ``l * previous`` reduced by ``G``), written on the
   standard monomials: a ``vdim x (vdim + 1)`` matrix over ``GF(p)``, checked
   inside Singular to reproduce the normal forms exactly. From it (with
   python-flint) the minimal polynomial ``mu`` of ``l`` on ``K[x]/I``: its
   degree is the rank of the first ``vdim`` columns, and when that is full,
   ``l^vdim = sum a_k l^k`` gives ``mu``.

**Certificate.** If ``deg mu = vdim`` and ``gcd(mu, mu') = 1`` then ``K[x]/I``
is isomorphic to ``K[T]/(mu)`` (``l`` generates it), a product of ``vdim``
copies of the field: ``I`` is radical with exactly ``vdim`` distinct solutions
(``distinct = count``). Otherwise (a multiple point, or ``l`` does not separate
the points) the count is not certified here and the caller falls back to
msolve, which reports the distinct count itself. The count is exact over the
algebraic closure of ``GF(p)``, like msolve's.

The executable is ``$NEUROVAR_SINGULAR`` when set (``off`` disables Singular),
else ``Singular`` on ``PATH``. It is started through
:func:`neurovar.pipeline.processes.run_solver`, so it dies with its cell; the script
goes to its standard input (no files).

Example
-------
>>> if singular_executable():
...     r = count_solutions([(["x^2 + y^2 - 1", "x - y"], ["x", "y"], 32003)])[0]
...     (r.kind, r.count, r.distinct)
... else:
...     ('finite', 2, 2)
('finite', 2, 2)
"""

from __future__ import annotations

import os
import random
import re
import shutil
import time
from dataclasses import dataclass
from typing import Sequence

from ..solver_use import note_solver
from .msolve_format import _expanded, _terms

#: Environment variable naming a Singular executable (``off`` disables it).
SINGULAR_ENV = "NEUROVAR_SINGULAR"
#: The Debian package that ships it.
SINGULAR_PACKAGE = "singular"

_LINE = re.compile(r"^NEUROVAR (\d+) (-?\d+) (-?\d+) ?([-0-9,]*)[ \t]*$", re.M)


class SingularError(RuntimeError):
    """Singular failed or printed something unreadable."""


class SingularTimeout(SingularError, TimeoutError):
    """Singular did not finish within its time limit and was killed."""


@dataclass
class SingularCount:
    """One system's solution count as the Singular script reports it.

    Attributes
    ----------
    kind : str
        ``finite``, ``positive_dimensional`` or ``empty``.
    count : int or None
        ``vdim``: solutions over the algebraic closure with multiplicity (finite only).
    distinct : int or None
        The number of distinct solutions when certified (``= count``, see the
        module docstring), else None.
    dimension : int
        Krull dimension of the ideal (``-1`` when empty).
    seconds : float
        Wall-clock time of the Singular process, shared by all systems of one call.
    """

    kind: str
    count: int | None
    distinct: int | None
    dimension: int
    seconds: float

    @property
    def certified(self) -> bool:
        return self.kind != "finite" or self.distinct is not None


def singular_executable() -> str | None:
    """Path of the Singular executable, or None when it is not installed (or disabled).

    Raises
    ------
    SingularError
        When ``$NEUROVAR_SINGULAR`` names something that is not an executable file.
    """
    env = os.environ.get(SINGULAR_ENV)
    if env is not None and env.strip():
        if env.strip().lower() in ("off", "none", "0", "false"):
            return None
        if not (os.path.isfile(env) and os.access(env, os.X_OK)):
            raise SingularError(f"{SINGULAR_ENV}={env!r} is not an executable file: point it at a Singular binary, "
                                f"set it to 'off', or unset it to use Singular from PATH")
        return env
    return shutil.which("Singular")


_NAME = re.compile(r"[tx][0-9]+")  # no clash with the script's own names


def _ring_text(polys, variables, p: int) -> tuple[list[str], list[str]]:
    """Ring variable names and the non-zero polynomials as Singular text.

    ``nmod_mpoly`` over ``GF(p)`` in exactly ``variables`` (names ``t0``, ``x0``, ...) are
    printed by FLINT; anything else goes through the msolve formatter
    (``x0, x1, ...``, coefficients reduced mod ``p``).
    """
    names = list(variables)
    fast = bool(polys) and all(_NAME.fullmatch(v) for v in names)
    if fast:
        for f in polys:
            try:
                ctx = f.context()
                fast = ctx.modulus() == p and list(ctx.names()) == names
            except AttributeError:
                fast = False
            if not fast:
                break
    if fast:
        return names, [t for t in (str(f).replace(" ", "") for f in polys if not f.is_zero()) if t]
    lines = [s for s in (_expanded(_terms(f, variables), p) for f in polys) if s is not None]
    return [f"x{i}" for i in range(len(names))], lines


def _script(systems, rng: random.Random) -> tuple[str, list[list[int]]]:
    out = ["option(redSB); option(redTail);"]
    forms = []
    for k, (polys, variables, p) in enumerate(systems):
        n = len(variables)
        if not (2 < int(p) < 2**31):
            raise ValueError(f"characteristic must be a prime below 2^31, got {p}")
        vnames, lines = _ring_text(polys, variables, int(p))
        c = [rng.randrange(1, min(int(p), 2**20)) for _ in range(n)]
        forms.append(c)
        names = ",".join(vnames)
        out += [
            f"ring R{k} = {int(p)}, ({names}), dp;",
            f"ideal G{k} = std(ideal({','.join(lines) or '0'}));",
            f"int d{k} = dim(G{k}); int v{k} = -1; string M{k} = \"\";",
            f"if (d{k} == 0) {{",
            f"  v{k} = vdim(G{k});",
            # the normal forms of 1, l, .., l^vdim on the standard monomials: the minimal polynomial of l
            f"  ideal K{k} = kbase(G{k}); poly l{k} = {'+'.join(f'{ci}*{v}' for v, ci in zip(vnames, c))};",
            f"  poly q{k} = 1; ideal Q{k} = q{k}; int i{k};",
            f"  for (i{k} = 1; i{k} <= v{k}; i{k}++) {{ q{k} = reduce(l{k} * q{k}, G{k}); Q{k} = Q{k}, q{k}; }}",
            f"  matrix C{k} = coeffs(Q{k}, K{k});",
            f"  ideal Z{k} = matrix(K{k}) * C{k} - matrix(Q{k});",
            f"  if (size(Z{k}) == 0) {{ M{k} = string(C{k}); }}",
            "}",
            f'print("NEUROVAR {k} " + string(d{k}) + " " + string(v{k}) + " " + M{k});',
        ]
    out.append("quit;")
    return "\n".join(out) + "\n", forms


def _minimal_polynomial_certifies(entries: str, v: int, p: int) -> bool:
    """From the ``v x (v+1)`` matrix of normal forms of ``l^0 .. l^v``: ``deg mu = v`` and ``mu`` square-free."""
    import flint

    vals = [int(t) % p for t in entries.replace("\n", "").split(",") if t.strip()]
    if v < 1 or len(vals) != v * (v + 1):
        return False
    rows = [vals[i * (v + 1):(i + 1) * (v + 1)] for i in range(v)]
    A = flint.nmod_mat([r[:v] for r in rows], p)
    if A.rank() < v:  # 1, l, .., l^(v-1) dependent: deg mu < vdim
        return False
    b = flint.nmod_mat([[r[v]] for r in rows], p)
    a = A.solve(b)  # l^v = sum a_k l^k
    mu = flint.nmod_poly([(-int(a[i, 0])) % p for i in range(v)] + [1], p)
    return mu.gcd(mu.derivative()).degree() == 0


def count_solutions(systems: Sequence[tuple], timeout: float | None = None, seed: int = 0) -> list[SingularCount]:
    """Count the solutions of several systems over prime fields in one Singular process.

    Parameters
    ----------
    systems : sequence of (polys, variables, prime)
        ``polys`` are python-flint mpolys or polynomial strings in ``variables``;
        ``prime`` a prime below ``2^31`` (the coefficients are reduced mod it).
    timeout : float, optional
        Seconds for the whole process; it is killed and :class:`SingularTimeout` raised after it.
    seed : int
        Draws the separating linear forms.

    Returns
    -------
    list of SingularCount
        In the order of ``systems``.

    Example
    -------
    >>> if singular_executable():
    ...     rs = count_solutions([(["x^2*y", "y - 1"], ["x", "y"], 7), (["x*y"], ["x", "y"], 7)])
    ...     [(r.kind, r.count, r.distinct) for r in rs]
    ... else:
    ...     [('finite', 2, None), ('positive_dimensional', None, None)]
    [('finite', 2, None), ('positive_dimensional', None, None)]
    """
    from ..processes import SolverTimeout, run_solver

    exe = singular_executable()
    if exe is None:
        raise SingularError(f"Singular is not installed: `apt-get install {SINGULAR_PACKAGE}` "
                            f"or set {SINGULAR_ENV} to a Singular binary")
    note_solver("Singular")  # its version enters the cell's fingerprint
    systems = list(systems)
    text, _ = _script(systems, random.Random(seed))
    t0 = time.perf_counter()
    try:  # the script on standard input: no files to write or to leave behind
        proc = run_solver([exe, "-q", "--no-rc", "--no-warn"], timeout=timeout, input=text)
    except SolverTimeout:
        raise SingularTimeout(f"Singular did not finish within {timeout} s (killed)") from None
    seconds = time.perf_counter() - t0
    found = {int(m.group(1)): (int(m.group(2)), int(m.group(3)), m.group(4)) for m in _LINE.finditer(proc.stdout)}
    if proc.returncode != 0 or len(found) != len(systems):
        msg = (proc.stderr + proc.stdout).strip()[-500:]
        raise SingularError(f"Singular failed (exit status {proc.returncode}): {msg or 'no output'}")
    out = []
    for k, (_, _, p) in enumerate(systems):
        d, v, entries = found[k]
        if d < 0:
            out.append(SingularCount("empty", 0, 0, d, seconds))
        elif d > 0:
            out.append(SingularCount("positive_dimensional", None, None, d, seconds))
        else:
            ok = _minimal_polynomial_certifies(entries, v, int(p))
            out.append(SingularCount("finite", v, v if ok else None, 0, seconds))
    return out


__all__ = ["SINGULAR_ENV", "SINGULAR_PACKAGE", "SingularCount", "SingularError", "SingularTimeout",
           "count_solutions", "singular_executable"]
