"""The one protocol every parameterization ``theta -> f_theta`` implements.

A model is a polynomial map ``mu: Theta x X -> Y``; its neurovariety ``M`` is the
Zariski closure of ``{mu(theta, .)}`` inside the ambient space ``V`` of
polynomial maps ``X -> Y`` of degree at most ``degree`` (homogeneous of degree
``degree`` when ``homogeneous``). Every computation (dimension, fiber, ED
degree, the numerical families, the catalog checks) uses only what is declared
here:

**Sizes.** ``num_params`` and ``param_shapes`` (named blocks of the flat
parameter vector ``theta``, row-major), ``input_dim``, ``output_dim``,
``degree``, ``homogeneous``, ``parameter_degree`` (degree of ``f_theta(x)`` in
``theta``).

**One forward pass over any ring.** ``forward(theta, X, ring)``: ``f_theta`` at
the rows of ``X``, with ``ring`` a :class:`~pipeline.algebra.field.Field`:
residues mod ``p`` (:class:`PrimeField`), floats or complex numbers
(:class:`FloatField`), or python-flint polynomials / symbolic parameters with
numeric inputs (:class:`ObjectRing`). ``jacobian`` has an exact default
(interpolation along each coordinate, see :meth:`Model.jacobian`) that models
with a reverse pass override.

**The ambient space V.** ``ambient_dimension``, ``coordinate_names``, the
coefficient map ``coefficients(theta_poly)`` (default: expand ``forward`` in
the inputs over ``Q`` and read off the monomial coefficients, in the order of
:func:`monomial_exponents`), ``features(x)`` (the linear map ``V -> Y``,
``c -> f_c(x)``), optional ``implicit_equations`` of ``M``.

**Declared architecture** (:meth:`Model.structure`, optional): a typed
declaration of :mod:`pipeline.models.structure` (dense layered widths, 1-D
convolution filters and strides, lightning attention sizes) for the theorems
about that architecture.

**Declared symmetries** (:meth:`Model.symmetries`): the dimension of the
continuous group, generators of a finite group acting on ``theta`` by index
permutations with root-of-unity scalings (:class:`ParameterMap`), and
gauges (:class:`Gauge`): affine slices fixing the continuous part.

Adding a model means one new module in ``pipeline/models/`` with a pydantic
``Spec`` (field ``model: Literal[name]``) and a :class:`Model` subclass; the
registry discovers it.

Example
-------
>>> import numpy as np
>>> from neurovar.pipeline.models import build_model
>>> from neurovar.pipeline.algebra.field import PrimeField
>>> m = build_model({"model": "mlp", "widths": [2, 2, 1], "activation": "x^2"})
>>> [name for name, _ in m.param_shapes], m.symmetries().continuous_dimension
(['W1', 'W2'], 2)
>>> F = PrimeField(101)
>>> theta, X = F.asarray([1, 2, 3, 4, 5, 6]), F.asarray([[1, 1]])
>>> int(m.forward(theta, X, F)[0, 0])   # 5 * 3^2 + 6 * 7^2 = 339 = 36 (mod 101)
36
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from fractions import Fraction
from functools import cached_property
from math import prod
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..algebra.field import Field, ObjectRing
from ..algebra.gauge import Gauge, ParameterMap, SymmetryBlocks, Symmetries  # noqa: F401 - part of the protocol
from ..algebra.monomials import monomial_count, monomial_exponents  # noqa: F401 - part of the protocol
from .structure import Structure, matches


class ModelSpec(BaseModel):
    """Base of the validated, canonical description of a model (one per module)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# ----------------------------------------------------------------------------- the protocol
class Model(ABC):
    """A parameterization ``theta -> f_theta``: sizes, one forward pass, V and declared symmetries."""

    name: ClassVar[str]
    spec: ModelSpec

    # --- sizes -------------------------------------------------------------
    @property
    @abstractmethod
    def param_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """Named blocks of ``theta`` in order, each flattened row-major."""

    @property
    def num_params(self) -> int:
        """Number of parameters (the dimension of Theta)."""
        return sum(prod(s) for _, s in self.param_shapes)

    def unpack(self, theta) -> dict[str, np.ndarray]:
        """``theta`` split into its named blocks (views)."""
        out, k = {}, 0
        for name, shape in self.param_shapes:
            n = prod(shape)
            out[name] = theta[k: k + n].reshape(shape)
            k += n
        return out

    @property
    @abstractmethod
    def input_dim(self) -> int:
        """Number of input variables."""

    @property
    @abstractmethod
    def output_dim(self) -> int:
        """Number of output coordinates."""

    @property
    @abstractmethod
    def degree(self) -> int:
        """Degree of ``f_theta`` in the inputs."""

    @property
    @abstractmethod
    def homogeneous(self) -> bool:
        """Whether every ``f_theta`` is homogeneous of degree ``degree``."""

    @property
    @abstractmethod
    def parameter_degree(self) -> int:
        """A bound on the degree of ``f_theta(x)`` in ``theta`` (used by the default Jacobian)."""

    # --- the forward pass ----------------------------------------------------
    @abstractmethod
    def forward(self, theta: np.ndarray, X: np.ndarray, ring: Field) -> np.ndarray:
        """``f_theta`` at the rows of ``X`` (shape ``(N, input_dim)``) over ``ring``; returns ``(N, output_dim)``."""

    def evaluate(self, theta: np.ndarray, X: np.ndarray, F: Field) -> np.ndarray:
        """Alias of :meth:`forward`."""
        return self.forward(theta, X, F)

    def random_parameters(self, F: Field, rng: np.random.Generator) -> np.ndarray:
        """A random parameter vector of length ``num_params`` in the field ``F``."""
        return F.random(self.num_params, rng)

    def jacobian(self, theta: np.ndarray, X: np.ndarray, F: Field) -> np.ndarray:
        """``d f_theta(x_j)_o / d theta``: shape ``(N * output_dim, num_params)``, rows ``(j, o)``.

        Default: exact differentiation by interpolation. ``t -> f_{theta + t e_k}(x)``
        is a polynomial of degree ``<= D = parameter_degree``; its derivative at 0 is
        ``sum_j w_j f_{theta + t_j e_k}(x)`` with ``w_j = L_j'(0)`` for the Lagrange basis on
        the nodes ``t_j = 0, +-1, +-2, ...`` (exact over GF(p), rational weights mapped
        into the field; for floats a cross-check). ``num_params * (D + 1)`` forward
        passes; models with a reverse pass override it.
        """
        D = self.parameter_degree
        nodes = [0] + [s * ((j + 2) // 2) for j, s in zip(range(D), [1, -1] * D)]
        weights = []
        for j, tj in enumerate(nodes):  # L_j'(0) = sum_{m != j} prod_{l != j, m} (0 - t_l) / prod_{l != j} (t_j - t_l)
            den = prod(Fraction(tj - tl) for l, tl in enumerate(nodes) if l != j)
            num = sum(prod(Fraction(-tl) for l, tl in enumerate(nodes) if l not in (j, m))
                      for m in range(len(nodes)) if m != j)
            weights.append(num / den)
        N = X.shape[0]
        cols = []
        for k in range(self.num_params):
            acc = None
            for tj, wj in zip(nodes, weights):
                if wj == 0:
                    continue
                th = theta.copy()
                th[k: k + 1] = F.add(th[k: k + 1], F.asarray([tj]))
                term = F.mul(self.forward(th, X, F), F.const(wj))
                acc = term if acc is None else F.add(acc, term)
            cols.append(acc.reshape(N * self.output_dim))
        return np.stack(cols, axis=1)

    def combined_jacobian(self, theta: np.ndarray, X: np.ndarray, C: np.ndarray, F: Field) -> np.ndarray:
        """Rows ``sum_o C[j, o] d f_theta(x_j)_o / d theta``: shape ``(N, num_params)``."""
        N = X.shape[0]
        J = self.jacobian(theta, X, F).reshape(N, self.output_dim, -1)
        return F.sum(F.mul(J, np.asarray(C)[:, :, None]), axis=1)

    # --- the ambient space V ------------------------------------------------------
    @cached_property
    def monomials(self) -> list[tuple[int, ...]]:
        """The monomial basis of one output block of ``V`` (:func:`monomial_exponents`)."""
        return monomial_exponents(self.input_dim, self.degree, self.homogeneous)

    @property
    def ambient_dimension(self) -> int:
        """``dim V``: output_dim times the number of monomials of the right degree."""
        return self.output_dim * monomial_count(self.input_dim, self.degree, self.homogeneous)

    def coordinate_names(self) -> list[str]:
        """Names of the coordinates of ``V``: ``c_<exponents>`` (``c<o>_...`` per output when ``dL > 1``)."""
        tag = (lambda o: "c") if self.output_dim == 1 else (lambda o: f"c{o + 1}")
        return [f"{tag(o)}_{'_'.join(map(str, e))}" for o in range(self.output_dim) for e in self.monomials]

    def coefficients(self, theta) -> list:
        """The coordinates of ``f_theta`` in ``V`` for ``theta`` an object array of ``fmpq_mpoly``.

        Default: the forward pass over ``Q[theta, x]`` and the coefficients of the
        monomials of ``x`` (outputs outer, :attr:`monomials` inner).
        """
        import flint

        ctx = next(t for t in theta if hasattr(t, "context")).context()
        pnames = list(ctx.names())
        P, d0 = len(pnames), self.input_dim
        big = flint.fmpq_mpoly_ctx.get(tuple(pnames) + tuple(f"in_{j}" for j in range(d0)), "degrevlex")
        g = big.gens()
        th = np.empty(len(theta), dtype=object)
        for i, t in enumerate(theta):
            th[i] = t.compose(*g[:P], ctx=big)
        x = np.empty((1, d0), dtype=object)  # filled one by one: numpy would iterate the polynomials
        for j in range(d0):
            x[0, j] = g[P + j]
        out = self.forward(th, x, ObjectRing.over_context(big))[0]
        pos = {e: i for i, e in enumerate(self.monomials)}
        nm = len(self.monomials)
        ys = [dict() for _ in range(self.output_dim * nm)]
        for o, f in enumerate(out):
            f = f if hasattr(f, "to_dict") else big.constant(f)
            for exps, c in f.to_dict().items():
                key = tuple(int(k) for k in exps[P:])
                if key not in pos:
                    raise ValueError(f"{self.name}: monomial {key} lies outside V (degree {self.degree})")
                ys[o * nm + pos[key]][tuple(int(k) for k in exps[:P])] = c
        return [ctx.from_dict(d) if d else ctx.constant(0) for d in ys]

    def features(self, x) -> list[list[Fraction]]:
        """Rows ``A`` (one per output) with ``f_c(x) = A c`` for ``c`` in ``V``: monomial evaluations."""
        nm = len(self.monomials)
        v = [Fraction(prod(Fraction(xi) ** int(k) for xi, k in zip(x, e))) for e in self.monomials]
        return [[Fraction(0)] * (o * nm) + v + [Fraction(0)] * ((self.output_dim - o - 1) * nm)
                for o in range(self.output_dim)]

    @property
    def feature_input_shape(self) -> tuple[int, ...]:
        """Shape of one input for :meth:`features` (a vector of length ``input_dim``)."""
        return (self.input_dim,)

    def implicit_equations(self, names: list[str]):
        """``(equations, codimension, preferred)`` of ``M`` in the coordinates ``names`` when known, else None.

        ``preferred``: use them even when the codimension is large (else the ED degree's
        ``exact`` method switches to the parametrization above a codimension cap).
        """
        return None

    def bombieri_weights(self) -> list[Fraction] | None:
        """Bombieri-Weyl weights ``1 / multinomial(D; alpha)`` of the monomial coordinates."""
        from math import factorial

        def multinomial(e):
            out = factorial(self.degree)
            for k in e:
                out //= factorial(k)
            return out // factorial(self.degree - sum(e))

        return [Fraction(1, multinomial(e)) for _ in range(self.output_dim) for e in self.monomials]

    def parametrization(self):
        """``(parameter names, coordinates y(theta))`` over ``Q``, gauge-fixed by the ``auto`` gauge.

        The parametric ED route needs generically finite fibers; the ``auto`` gauge
        fixes the continuous symmetries (when it is complete).
        """
        return self._parametrization_fixing(self.gauge("auto").fixed)

    def _parametrization_fixing(self, fixed: dict):
        """``(names, y(theta))`` with the parameters at the flat indices of ``fixed`` set to its values."""
        import flint

        free = [k for k in range(self.num_params) if k not in fixed]
        names = [f"{n}_{'_'.join(str(i + 1) for i in idx)}" for n, s in self.param_shapes
                 for idx in np.ndindex(*s)]
        pnames = [names[k] for k in free]
        ctx = flint.fmpq_mpoly_ctx.get(tuple(pnames) if pnames else ("t0",), "degrevlex")
        theta = np.empty(self.num_params, dtype=object)
        for k, v in fixed.items():
            theta[k] = ctx.constant(v)
        for i, k in enumerate(free):
            theta[k] = ctx.gens()[i]
        return pnames, self.coefficients(theta)

    def bias_strata(self) -> list[tuple[str, list, list, str]] | None:
        """The families whose union is the closure of the real image, for ``bias`` (None: no route).

        Each is ``(label, parameter names, coordinates y(theta) in V, description)`` with finite
        generic fibres: ``smooth`` (the gauge chart), ``sparse: ...``, ``boundary``; no names for a
        single point (the zero function). The global minimiser over the closure of the real image
        must be a real critical point of the loss on one of them (the model derives this). Raises
        :class:`~pipeline.errors.SpecError` naming the field and what works for sizes without a route.
        """
        return None

    def _family(self, names: list[str], theta) -> tuple[list[str], list]:
        """``(names, y(theta))`` for ``theta(gens)``: the flat parameters as polynomials in ``names`` (or numbers)."""
        import flint

        ctx = flint.fmpq_mpoly_ctx.get(tuple(names) if names else ("t0",), "degrevlex")
        th = np.empty(self.num_params, dtype=object)
        for i, v in enumerate(theta(ctx.gens() if names else ())):
            th[i] = v if hasattr(v, "context") else ctx.constant(v)
        return list(names), self.coefficients(th)

    # --- declared symmetries -------------------------------------------------------
    @abstractmethod
    def symmetries(self) -> Symmetries:
        """The declared symmetries (continuous dimension, finite generators, gauges)."""

    @property
    def symmetry_dimension(self) -> int:
        """Dimension of the known group of parameter symmetries."""
        return self.symmetries().continuous_dimension

    def gauge(self, kind: str = "auto") -> Gauge:
        """The slice ``kind`` fixing the continuous symmetries.

        Default: no continuous symmetry can be fixed generically: ``none``, complete
        only when the continuous group is trivial.
        """
        sym = self.symmetries()
        if kind not in ("auto", "none"):
            raise ValueError(f"gauge {kind!r} does not apply to {self.name}; use gauge=auto or none")
        return Gauge("none", {}, 1, sym.group_order, "no gauge", complete=sym.continuous_dimension == 0)

    @property
    def expected_dimension(self) -> int:
        """Parameters minus known symmetries, capped by the ambient dimension."""
        return min(self.num_params - self.symmetry_dimension, self.ambient_dimension)

    #: The gauges instances of this class may declare (:attr:`Symmetries.gauges`), besides ``auto`` and ``none``.
    gauge_names: ClassVar[tuple[str, ...]] = ()
    def structure(self) -> Structure | None:
        """The declared architecture (:mod:`pipeline.models.structure`) that architecture-specific
        theorems and routes read; None (the default) when the model declares none: it then gets no
        literature claim, never a wrong one."""
        return None

    def declares(self, kind) -> Structure | None:
        """The declaration :meth:`structure` if it is of ``kind`` (a class or its ``kind`` name), else None."""
        s = self.structure()
        return s if matches(s, kind) else None

    #: The activation when the model has no ``activation`` field (``"x"`` for linear networks), else None.
    fixed_activation: ClassVar[str | None] = None

    @classmethod
    def examples(cls) -> list[dict]:
        """Small descriptions of this model (``build_model`` inputs, seconds to compute with) that the
        protocol's tests run on: every registered model is tested through them, with no test edited."""
        return []

    def record(self) -> dict:
        """The model's inputs as catalog columns."""
        return self.spec.model_dump()

