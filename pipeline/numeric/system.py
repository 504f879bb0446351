"""Polynomial systems compiled for batched complex evaluation.

A :class:`System` holds square (or over-determined) polynomial equations
``F(x; p) = 0`` in unknowns ``x = (x_1..x_n)`` and parameters ``p = (p_1..p_m)``.
Each polynomial is stored as an exponent matrix and a coefficient vector over
the joint variables ``z = (x, p)``; the Jacobian ``dF/dz`` is compiled once into
the differentiated exponent matrices. Evaluation of a batch of ``B`` points is
pure numpy (complex128): a table of powers ``z_j^e`` per variable, the monomial
values as products of table entries, and the sums per polynomial (or per
Jacobian entry) by ``np.add.reduceat`` over terms sorted by their output slot.

The exact rational coefficients are kept (``Fraction``) when the system was
built from rational polynomials, so that :mod:`pipeline.numeric.certify` can
evaluate it in interval arithmetic without rounding the coefficients.

Example
-------
>>> import numpy as np
>>> S = System.from_text("x^2 + y^2 - r; x - y", variables=["x", "y"], parameters=["r"])
>>> F = S.evaluate(np.array([[1.0, 1.0]]), np.array([2.0]))
>>> bool(np.abs(F).max() < 1e-15)
True
>>> F, Jx, Jp = S.jacobian(np.array([[1.0, 2.0]]), np.array([2.0]))
>>> Jx[0].real.tolist(), Jp[0].real.tolist()
([[2.0, 4.0], [1.0, -1.0]], [[-1.0], [0.0]])
"""

from __future__ import annotations

from fractions import Fraction
from typing import Iterable, Mapping, Sequence

import numpy as np

from neurovar.pipeline.algebra.parser import parse_system, polynomial_context

Exponents = tuple[int, ...]


def _as_fraction_or_complex(c):
    if isinstance(c, Fraction):
        return c
    if isinstance(c, int):
        return Fraction(c)
    if hasattr(c, "p") and hasattr(c, "q"):  # flint.fmpq
        return Fraction(int(c.p), int(c.q))
    if hasattr(c, "numerator") and hasattr(c, "denominator") and not isinstance(c, float):
        return Fraction(int(c.numerator), int(c.denominator))
    return complex(c)


class _Compiled:
    """Terms ``(monomial index, coefficient, output slot)`` summed per slot."""

    def __init__(self, mono_idx: np.ndarray, coeff: np.ndarray, slot: np.ndarray, n_slots: int):
        order = np.argsort(slot, kind="stable")
        self.mono_idx = mono_idx[order]
        self.coeff = coeff[order]
        slot = slot[order]
        if len(slot):
            starts = np.flatnonzero(np.r_[True, slot[1:] != slot[:-1]])
        else:
            starts = np.zeros(0, dtype=np.int64)
        self.starts = starts
        self.slots = slot[starts] if len(slot) else starts
        self.n_slots = n_slots

    def __call__(self, mono: np.ndarray) -> np.ndarray:
        out = np.zeros((mono.shape[0], self.n_slots), dtype=np.complex128)
        if len(self.mono_idx):
            vals = mono[:, self.mono_idx] * self.coeff
            out[:, self.slots] = np.add.reduceat(vals, self.starts, axis=1)
        return out


class System:
    """Polynomial equations ``F(x; p) = 0`` compiled for batched evaluation.

    Parameters
    ----------
    polynomials : sequence of mapping
        One ``{exponents: coefficient}`` dict per equation; ``exponents`` has one
        entry per unknown followed by one entry per parameter. Coefficients may
        be ``int``, ``Fraction``, ``flint.fmpq`` (kept exact) or ``complex``.
    variables : sequence of str
        Names of the unknowns ``x``.
    parameters : sequence of str, optional
        Names of the parameters ``p``.

    Example
    -------
    >>> S = System([{(2,): 1, (0,): -2}], ["x"])
    >>> S.n_equations, S.n_variables, S.n_parameters
    (1, 1, 0)
    """

    def __init__(self, polynomials: Sequence[Mapping[Exponents, object]], variables: Sequence[str],
                 parameters: Sequence[str] = ()):
        self.variables = tuple(variables)
        self.parameters = tuple(parameters)
        n, m = len(self.variables), len(self.parameters)
        nz = n + m
        if len(set(self.variables + self.parameters)) != nz:
            raise ValueError("variables and parameters must have distinct names")
        terms: list[tuple[int, Exponents, object]] = []
        for i, poly in enumerate(polynomials):
            for e, c in poly.items():
                e = tuple(int(v) for v in e)
                if len(e) != nz:
                    raise ValueError(
                        f"equation {i + 1}: exponent {e} has {len(e)} entries, expected {nz} "
                        f"(one per unknown, then one per parameter)")
                c = _as_fraction_or_complex(c)
                if c != 0:
                    terms.append((i, e, c))
        self.n_equations = len(polynomials)
        self.n_variables = n
        self.n_parameters = m
        self.terms = terms  # exact, for interval evaluation
        self.exact = all(isinstance(c, Fraction) for _, _, c in terms)
        self.is_real = all(isinstance(c, Fraction) or complex(c).imag == 0 for _, _, c in terms)

        monos: dict[Exponents, int] = {}

        def mono_index(e: Exponents) -> int:
            if e not in monos:
                monos[e] = len(monos)
            return monos[e]

        f_idx, f_c, f_slot = [], [], []
        j_idx, j_c, j_slot = [], [], []
        for i, e, c in terms:
            cc = complex(c)
            f_idx.append(mono_index(e))
            f_c.append(cc)
            f_slot.append(i)
            for j in range(nz):
                if e[j] > 0:
                    d = list(e)
                    d[j] -= 1
                    j_idx.append(mono_index(tuple(d)))
                    j_c.append(cc * e[j])
                    j_slot.append(i * nz + j)
        self.exponents = np.array(list(monos), dtype=np.int64).reshape(len(monos), nz)
        self.max_degree = self.exponents.max(axis=0) if len(monos) else np.zeros(nz, dtype=np.int64)
        self.degrees = [max((sum(e[:n]) for k, e, _ in terms if k == i), default=0) for i in range(self.n_equations)]
        self._f = _Compiled(np.array(f_idx, dtype=np.int64), np.array(f_c, dtype=np.complex128),
                            np.array(f_slot, dtype=np.int64), self.n_equations)
        self._j = _Compiled(np.array(j_idx, dtype=np.int64), np.array(j_c, dtype=np.complex128),
                            np.array(j_slot, dtype=np.int64), self.n_equations * nz)
        self._compile_monomials()
        self._dense = self._dense_coefficients()

    def _dense_coefficients(self):
        """``[C_F | C_J]`` as one dense matrix (monomials x output slots), or ``None``.

        For small systems one BLAS product ``mono @ C`` is 2-3x faster than
        gathering the terms and summing them with ``reduceat`` (measured on the
        attention ED system, 85 monomials x 98 slots); for large sparse systems
        the dense matrix would be mostly zeros, so it is used only while its size
        stays within 40 entries per term.
        """
        n_mono = self.exponents.shape[0]
        n_terms = len(self._f.mono_idx) + len(self._j.mono_idx)
        slots = self._f.n_slots + self._j.n_slots
        if n_mono == 0 or n_mono * slots > 40 * max(n_terms, 1):
            return None
        C = np.zeros((n_mono, slots), dtype=np.complex128)
        for offset, comp in ((0, self._f), (self._f.n_slots, self._j)):
            slot_of_term = np.repeat(comp.slots, np.diff(np.r_[comp.starts, len(comp.mono_idx)]))
            np.add.at(C, (comp.mono_idx, offset + slot_of_term), comp.coeff)
        return C

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_mpolys(cls, polys, variables: Sequence[str] | None = None, parameters: Sequence[str] = ()):
        """Build from ``flint.fmpq_mpoly`` polynomials of one context.

        ``variables`` and ``parameters`` are names of the context's generators
        (default: the unknowns are all generators that are not parameters).
        """
        polys = list(polys)
        if not polys:
            raise ValueError("no equations given")
        names = list(polys[0].context().names())
        parameters = list(parameters)
        if variables is None:
            variables = [v for v in names if v not in parameters]
        order = list(variables) + parameters
        missing = [v for v in order if v not in names]
        if missing:
            raise ValueError(f"unknown names {missing}; the polynomials' variables are {names}")
        pos = [names.index(v) for v in order]
        extra = [k for k in range(len(names)) if k not in pos]
        out = []
        for f in polys:
            d = {}
            for e, c in f.to_dict().items():
                if any(e[k] for k in extra):
                    raise ValueError(
                        f"polynomial uses a generator in {[names[k] for k in extra]} that is neither an unknown nor a parameter")
                d[tuple(e[k] for k in pos)] = c
            out.append(d)
        return cls(out, variables, parameters)

    @classmethod
    def from_text(cls, equations: str | Iterable[str], variables: Sequence[str], parameters: Sequence[str] = ()):
        """Parse ``"f1; f2; ..."`` with the safe parser (:mod:`pipeline.algebra.parser`)."""
        _, polys = parse_system(equations, list(variables) + list(parameters))
        return cls.from_mpolys(polys, variables, parameters)

    # ------------------------------------------------------------------ evaluation
    def _z(self, x, p):
        x = np.asarray(x, dtype=np.complex128)
        if x.ndim == 1:
            x = x[None, :]
        B = x.shape[0]
        p = np.asarray(p if p is not None else np.zeros(0), dtype=np.complex128)
        if p.ndim == 1:
            p = np.broadcast_to(p, (B, self.n_parameters))
        if x.shape[1] != self.n_variables or p.shape[1] != self.n_parameters:
            raise ValueError(f"expected x of shape (B, {self.n_variables}) and p of shape (B, {self.n_parameters})")
        return np.concatenate([x, p], axis=1)

    def _compile_monomials(self):
        """Each monomial as a product of at most ``S`` entries of a flat power table.

        The table has one row per exponent ``e = 0..D`` and one column per joint
        variable plus a constant column: entry ``e * (nz + 1) + j`` is ``z_j^e``
        and entry ``nz`` (row 0) is the constant 1 for unused slots.
        """
        E = self.exponents
        nz = E.shape[1]
        self._pw_deg = int(self.max_degree.max()) if E.size else 0
        support = (E > 0).sum(axis=1) if E.size else np.zeros(0, dtype=np.int64)
        S = int(support.max()) if len(support) else 0
        slots = np.full((max(S, 1), len(E)), nz, dtype=np.int64)
        for u, e in enumerate(E):
            nzj = np.flatnonzero(e)
            slots[: len(nzj), u] = e[nzj] * (nz + 1) + nzj
        self._slots = slots

    def _monomials(self, z: np.ndarray) -> np.ndarray:
        B, nz = z.shape
        D = self._pw_deg
        pw = np.empty((B, D + 1, nz + 1), dtype=np.complex128)
        pw[:, 0, :] = 1.0
        if D:
            pw[:, 1, :nz] = z
        for e in range(2, D + 1):
            np.multiply(pw[:, e - 1, :nz], z, out=pw[:, e, :nz])
        flat = pw.reshape(B, -1)
        mono = flat[:, self._slots[0]]
        for row in self._slots[1:]:
            mono *= flat[:, row]
        return mono

    def evaluate(self, x, p=None) -> np.ndarray:
        """Values ``F(x; p)`` of shape ``(B, n_equations)`` for ``x`` of shape ``(B, n)``."""
        mono = self._monomials(self._z(x, p))
        if self._dense is not None:
            return mono @ self._dense[:, : self.n_equations]
        return self._f(mono)

    def jacobian(self, x, p=None):
        """``(F, dF/dx, dF/dp)`` with shapes ``(B, N)``, ``(B, N, n)``, ``(B, N, m)``."""
        mono = self._monomials(self._z(x, p))
        nz = self.n_variables + self.n_parameters
        if self._dense is not None:
            out = mono @ self._dense
            F = out[:, : self.n_equations]
            J = out[:, self.n_equations:].reshape(-1, self.n_equations, nz)
        else:
            F = self._f(mono)
            J = self._j(mono).reshape(-1, self.n_equations, nz)
        return F, J[:, :, : self.n_variables], J[:, :, self.n_variables:]

    def __repr__(self) -> str:
        return (f"System({self.n_equations} equations, unknowns {list(self.variables)}, "
                f"parameters {list(self.parameters)}, degrees {self.degrees})")


def mpoly_context(names: Sequence[str]):
    """The ``fmpq_mpoly`` context used to build systems (re-exported for families)."""
    return polynomial_context(names)
