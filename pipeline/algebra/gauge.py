"""Gauges: affine slices that fix the continuous symmetries of a network's parameters.

The map ``theta -> f_theta`` is invariant under a group ``G`` acting on the
parameters. To count the points of a fiber ``{theta : f_theta = f_theta0}`` the
continuous part of ``G`` is fixed by setting some coordinates of ``theta`` to
constants (a *gauge*, an affine-linear slice ``S``). A gauge is a *section* when
every ``G``-orbit (on the open set where the gauge coordinates are non-zero)
meets ``S`` exactly ``|R|`` times, where ``R`` is a finite *residual* group;
then

    #(fiber ∩ S) = #(G-orbits in the fiber) * |R|,

and when the fiber is only the known symmetries (the orbits ``sigma G theta0``
for the permutations ``sigma`` of hidden neurons) this is
``prod_i d_i! * |R|`` (``d_i`` the hidden widths; ``G`` contains no permutation
except for linear networks, where the permutations lie in ``GL(d_i)``).

Gauges implemented
------------------
**Monomial activation** ``s = c x^r`` (``r >= 2``). Neuron ``j`` of hidden
layer ``i`` has the scaling ``W_i[j, :] -> t W_i[j, :]``, ``b_i[j] -> t b_i[j]``,
``W_{i+1}[:, j] -> t^(-r) W_{i+1}[:, j]`` (``s(t z) = t^r s(z)``), a torus
``(C^*)^(d_1 + ... + d_{L-1})``.

- ``incoming`` (default): ``W_i[j, 0] = 1`` for every hidden neuron (the first
  coordinate of its incoming weight vector). Going through the layers in
  order, the scalings of layer ``i - 1`` are already fixed, so
  ``t_{i,j} W_i[j, 0] = 1`` determines ``t_{i,j}`` uniquely: the residual group
  is trivial, ``|R| = 1``. (The sign/root-of-unity scalings ``t^r = 1`` move
  ``W_i[j, 0] = 1`` to ``t != 1`` and are therefore *not* in the slice.)
- ``outgoing``: ``W_{i+1}[0, j] = 1`` (the first coordinate of its outgoing
  weight vector). Going through the layers backwards, ``t_{i+1,0}`` is fixed
  and ``t_{i+1,0} t_{i,j}^(-r) = 1`` has ``r`` solutions ``t_{i,j}``: the residual
  group is ``mu_r`` per hidden neuron, ``|R| = r^(d_1 + ... + d_{L-1})`` — the
  complex ``r``-th roots of unity (counted over the algebraic closure, as msolve
  does).

**Linear activation** ``s = x`` (``GL(d_i)`` per hidden layer, affine group with
bias). ``gl`` gauge: ``W_i[:, :d_i] = I`` (and ``b_i = 0`` with bias) for every
hidden layer. With ``g_{i-1}`` fixed, ``g_i W_i[:, :d_i] g_{i-1}^{-1} = I``
determines ``g_i``; this is a section with trivial residual group only when
``d_0 >= d_1 >= ... >= d_{L-1}`` (the block must be square-or-wide). Expected
count: 1 (the permutations lie inside ``GL``).

**Any other activation**: no continuous symmetry is known; no gauge, ``|R| = 1``,
except for the affine shapes found by :func:`affine_shape`: with bias every
cubic (indeed any ``s`` with ``s(u + beta) - s(beta)`` odd) has a sign flip per
hidden neuron, ``|R| = 2^(d_1 + ... + d_{L-1})``; with bias every quadratic is
a shifted ``x^2`` and has unfixed scalings (no count expected).

Caveat: a gauge only sees fiber points whose gauge coordinates can be made
non-zero; a component of the fiber inside ``{W_i[j, 0] = 0}`` (e.g. a dead
neuron) is not counted.

Example
-------
>>> from neurovar.pipeline.models import build_model
>>> g = choose_gauge(build_model({"model": "mlp", "widths": [2, 3, 1], "activation": "x^5"}))
>>> g.kind, sorted(g.fixed), g.residual_order
('incoming', [0, 2, 4], 1)
>>> choose_gauge(build_model({"model": "mlp", "widths": [2, 2, 1], "activation": "x^3"}), "outgoing").residual_order
9
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import factorial, prod

from ..models.mlp import layer_shapes

GAUGES = ("auto", "incoming", "outgoing", "gl", "none")


@dataclass(frozen=True)
class Gauge:
    """An affine slice ``theta[k] = fixed[k]`` and the order of its residual finite group.

    Attributes
    ----------
    kind : str
        ``incoming``, ``outgoing``, ``gl`` or ``none``.
    fixed : dict[int, int]
        Parameter index -> the integer it is set to.
    residual_order : int
        ``|R|``: how many points of the slice each orbit of the continuous group meets.
    permutation_order : int
        Number of fiber points the known finite symmetries (neuron permutations
        outside the continuous group) contribute: ``prod d_i!``, or 1 for ``gl``.
    description : str
        One line for the record.
    """

    kind: str
    fixed: dict[int, int] = field(default_factory=dict)
    residual_order: int = 1
    permutation_order: int = 1
    description: str = ""
    #: False when the slice leaves continuous known symmetries unfixed (then no count is expected)
    complete: bool = True

    @property
    def expected_points(self) -> int | None:
        """Points of ``fiber ∩ slice`` when the fiber is only the known symmetries (None if not finite)."""
        return self.permutation_order * self.residual_order if self.complete else None


def param_offsets(widths, bias: bool) -> list[tuple[int, int | None]]:
    """Start index of ``W_l`` (row-major) and of ``b_l`` (None without bias) for each layer."""
    out, k = [], 0
    for rows, cols in layer_shapes(widths):
        w0 = k
        k += rows * cols
        b0 = None
        if bias:
            b0 = k
            k += rows
        out.append((w0, b0))
    return out


def choose_gauge(model, kind: str = "auto") -> Gauge:
    """The gauge ``kind`` for an MLP or linear ``model`` (``auto``: the default for its activation).

    Raises
    ------
    ValueError
        If ``kind`` does not apply to the model's activation or widths (the
        message names the gauges that do).
    """
    if kind not in GAUGES:
        raise ValueError(f"gauge must be one of {', '.join(GAUGES)}, got {kind!r}")
    widths = tuple(model.widths)
    hidden = widths[1:-1]
    act = model.activation
    perms = prod(factorial(d) for d in hidden)
    offs = param_offsets(widths, model.bias)
    if not hidden:
        if kind not in ("auto", "none"):
            raise ValueError(f"gauge {kind!r}: a network without hidden layers has no symmetries; use gauge=none")
        return Gauge("none", {}, 1, 1, "no hidden layer: f_theta determines theta")
    if kind == "none":
        known_continuous = act.is_monomial  # x^r scalings, GL for x
        return Gauge("none", {}, 1, perms, "no gauge", complete=not known_continuous)
    if act.is_linear:
        if kind not in ("auto", "gl"):
            raise ValueError(f"gauge {kind!r} is for monomial activations; a linear network takes gauge=gl (or none)")
        if any(widths[i] < widths[i + 1] for i in range(len(widths) - 2)):
            if kind == "auto":
                return Gauge("none", {}, 1, 1, "GL gauge needs d_0 >= ... >= d_(L-1): dimensions only",
                             complete=False)
            raise ValueError(
                f"gauge gl needs d_0 >= d_1 >= ... >= d_(L-1), got widths {list(widths)}; "
                "use gauge=none (dimensions only)"
            )
        fixed = {}
        for i in range(len(hidden)):
            w0, b0 = offs[i]
            rows, cols = widths[i + 1], widths[i]
            for a in range(rows):
                for c in range(rows):
                    fixed[w0 + a * cols + c] = int(a == c)
                if b0 is not None:
                    fixed[b0 + a] = 0
        return Gauge("gl", fixed, 1, 1, "W_i[:, :d_i] = I (b_i = 0) on hidden layers; GL section, residual trivial")
    if act.is_monomial:
        r = act.degree
        if kind in ("auto", "incoming"):
            fixed = {}
            for i, d in enumerate(hidden):
                w0, _ = offs[i]
                cols = widths[i]
                for j in range(d):
                    fixed[w0 + j * cols] = 1
            return Gauge("incoming", fixed, 1, perms,
                         "W_i[j, 0] = 1 for every hidden neuron; residual trivial")
        if kind == "outgoing":
            fixed = {}
            for i, d in enumerate(hidden):
                w0, _ = offs[i + 1]
                for j in range(d):
                    fixed[w0 + j] = 1  # row 0 of W_{i+1}
            n = sum(hidden)
            return Gauge("outgoing", fixed, r**n, perms,
                         f"W_(i+1)[0, j] = 1 for every hidden neuron; residual (mu_{r})^{n}")
        raise ValueError(f"gauge {kind!r} is for linear networks; a monomial activation takes incoming or outgoing")
    if kind != "auto":
        raise ValueError(f"activation {act.text} has no known continuous symmetry; use gauge=auto or none")
    shape = affine_shape(act.coeffs, model.bias)
    if shape == "monomial":
        return Gauge("none", {}, 1, perms, "activation is a shifted monomial: scalings are not fixed", complete=False)
    if shape == "odd":
        n = sum(hidden)
        return Gauge("none", {}, 2**n, perms, f"activation is odd after a shift: sign flips (Z/2)^{n}")
    return Gauge("none", {}, 1, perms, "no continuous symmetry known: no gauge")


def affine_shape(coeffs, bias: bool) -> str | None:
    """``"monomial"``, ``"odd"`` or None: the shape of ``t(u) = s(u + beta) - s(beta)``.

    With bias, a shift ``beta`` of the pre-activation is absorbed by the bias
    and a constant by the next layer's bias, so ``s`` only matters up to
    ``s(u + beta) - s(beta)``; ``beta = -c_(r-1) / (r c_r)`` removes the
    ``u^(r-1)`` term. Without bias ``beta = 0`` and the constant must vanish.

    - ``monomial``: ``t = c u^r``; every hidden neuron has the scalings of
      ``x^r`` (a continuous symmetry; e.g. every quadratic with bias).
    - ``odd``: ``t(-u) = -t(u)``; flipping the sign of a neuron's incoming
      weights and bias (after the shift) and of its outgoing weights is a
      symmetry, ``|R| = 2`` per hidden neuron (e.g. every cubic with bias).

    Example
    -------
    >>> from fractions import Fraction as Q
    >>> affine_shape([Q(5), Q(-3), Q(7), Q(2)], bias=True), affine_shape([Q(5), Q(-3), Q(7), Q(2)], bias=False)
    ('odd', None)
    >>> affine_shape([Q(1), Q(2), Q(3)], bias=True), affine_shape([Q(1), Q(2), Q(3), Q(4), Q(5)], bias=True)
    ('monomial', None)
    """
    from fractions import Fraction
    from math import comb

    c = [Fraction(x) for x in coeffs]
    r = len(c) - 1
    if r < 2:
        return None
    beta = -c[r - 1] / (r * c[r]) if bias else Fraction(0)
    t = [sum(c[k] * comb(k, i) * beta ** (k - i) for k in range(i, r + 1)) for i in range(r + 1)]
    if not bias and t[0] != 0:
        return None
    if all(t[i] == 0 for i in range(1, r)):
        return "monomial"
    if all(t[i] == 0 for i in range(2, r + 1, 2)):
        return "odd"
    return None


def symmetry_orbit(model, gauge: Gauge, theta, max_points: int = 20000):
    """The points of ``fiber(theta) ∩ slice`` given by the known finite symmetries.

    Permutations of the hidden neurons of every layer (rows of ``W_i`` and
    ``b_i``, columns of ``W_(i+1)``), each followed by the scaling that brings
    the point back into the gauge slice: for ``incoming`` the unique
    ``t = 1 / W_i[j, 0]`` per neuron (layers in order); for ``outgoing`` every
    ``t`` with ``t^r = W_(i+1)[0, j]`` (layers backwards: the residual
    ``mu_r`` per neuron); for ``gl`` the permutations lie in ``GL`` and give
    ``theta`` itself; for ``none`` the permutations alone (sign flips of the
    ``odd`` shape are not generated: a subgroup is still a group of deck
    transformations). These maps are deck transformations of
    ``theta -> f_theta`` restricted to the slice: they preserve ``f_theta`` and
    commute with analytic continuation.

    Parameters
    ----------
    model : Model
        An MLP or linear network.
    gauge : Gauge
    theta : array (num_params,)
        A point of the slice (complex or float).
    max_points : int
        Larger orbits are not generated (only ``theta`` is returned).

    Returns
    -------
    numpy.ndarray
        Shape ``(k, num_params)``, the first row ``theta``; ``k = prod d_i! * |R|``
        for a generic ``theta`` (fewer for ``none`` gauges with ``|R| > 1``).

    Example
    -------
    >>> import numpy as np
    >>> from neurovar.pipeline.models import build_model
    >>> m = build_model({"model": "mlp", "widths": [2, 3, 1], "activation": "x^5"})
    >>> g = choose_gauge(m)
    >>> theta = np.random.default_rng(0).normal(size=m.num_params).astype(complex)
    >>> theta[sorted(g.fixed)] = 1
    >>> O = symmetry_orbit(m, g, theta)
    >>> O.shape, bool(np.allclose(O[:, sorted(g.fixed)], 1))
    ((6, 9), True)
    """
    from itertools import permutations, product

    import numpy as np

    from ..models.mlp import unpack

    theta = np.asarray(theta, dtype=np.complex128)
    widths = tuple(model.widths)
    hidden = widths[1:-1]
    r = model.activation.degree
    n_points = gauge.permutation_order * (gauge.residual_order if gauge.kind == "outgoing" else 1)
    if gauge.kind == "gl" or not hidden or n_points > max_points:
        return theta[None, :].copy()
    out = []
    for perms in product(*(permutations(range(d)) for d in hidden)):
        t = theta.copy()
        layers = unpack(t, widths, model.bias)  # views into t
        for i, pi in enumerate(perms):
            pi = list(pi)
            W, b = layers[i]
            W[:] = W[pi]
            if b is not None:
                b[:] = b[pi]
            Wn = layers[i + 1][0]
            Wn[:] = Wn[:, pi]
        if gauge.kind == "incoming":
            for i in range(len(hidden)):
                W, b = layers[i]
                for j in range(hidden[i]):
                    s = 1 / W[j, 0]
                    W[j, :] *= s
                    if b is not None:
                        b[j] *= s
                    layers[i + 1][0][:, j] *= s ** (-r)
            out.append(t)
        elif gauge.kind == "outgoing":
            points = [t]
            for i in reversed(range(len(hidden))):
                for j in range(hidden[i]):
                    nxt = []
                    for u in points:
                        for k in range(r):
                            v = u.copy()
                            ls = unpack(v, widths, model.bias)
                            W, b = ls[i]
                            Wn = ls[i + 1][0]
                            s = Wn[0, j] ** (1 / r) * np.exp(2j * np.pi * k / r)  # s^r = W_(i+1)[0, j]
                            W[j, :] *= s
                            if b is not None:
                                b[j] *= s
                            Wn[:, j] *= s ** (-r)
                            nxt.append(v)
                    points = nxt
            out.extend(points)
        else:  # none: permutations only
            out.append(t)
    return np.array(out)


__all__ = ["GAUGES", "Gauge", "choose_gauge", "param_offsets", "symmetry_orbit"]
