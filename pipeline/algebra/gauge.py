"""Gauges: affine slices that fix the continuous symmetries of a model's parameters.

The map ``theta -> f_theta`` is invariant under a group ``G`` acting on the
parameters. To count the points of a fiber ``{theta : f_theta = f_theta0}`` the
continuous part of ``G`` is fixed by setting some coordinates of ``theta`` to
constants (a *gauge*, an affine-linear slice ``S``). A gauge is a *section* when
every ``G``-orbit (on the open set where the gauge coordinates are non-zero)
meets ``S`` exactly ``|R|`` times, where ``R`` is a finite *residual* group;
then

    #(fiber ∩ S) = #(G-orbits in the fiber) * |R|,

and when the fiber is only the known symmetries this is
``(order of the finite group modulo the continuous one) * |R|``. Each model
declares its gauges (:meth:`pipeline.models.base.Model.gauge`) and its finite
symmetry group (:meth:`pipeline.models.base.Model.symmetries`); this module
chooses the gauge and generates orbits, for every model alike.

Caveat: a gauge only sees fiber points whose gauge coordinates can be made
non-zero; a component of the fiber inside ``{W_i[j, 0] = 0}`` is not counted.

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
from math import factorial
from typing import Callable

import numpy as np



@dataclass(frozen=True)
class ParameterMap:
    """``theta'[i] = zeta^exponents[i] * theta[perm[i]]`` with ``zeta = exp(2 pi i / order)``.

    A generator of a finite group of parameter symmetries: an index permutation
    followed by scalings by ``order``-th roots of unity (``order = 1``: a pure
    permutation; ``order = 2``: signs). Exact: the roots of unity are named by
    their exponents, so the map can be applied over ``GF(p)`` given a
    primitive ``order``-th root there.

    >>> g = ParameterMap(perm=(1, 0, 2), order=2, exponents=(0, 0, 1))
    >>> g(np.array([1.0, 2.0, 3.0])).real.tolist()
    [2.0, 1.0, -3.0]
    """

    perm: tuple[int, ...]
    order: int = 1
    exponents: tuple[int, ...] | None = None
    description: str = ""

    def __call__(self, theta, zeta=None):
        """Apply to ``theta`` (complex by default; pass ``zeta`` to act in another field)."""
        theta = np.asarray(theta)
        out = theta[..., list(self.perm)]
        if self.order == 1 or self.exponents is None or not any(self.exponents):
            return out if zeta is not None else out.astype(np.complex128)
        if zeta is None:
            scale = np.exp(2j * np.pi * np.asarray(self.exponents) / self.order)
            return out.astype(np.complex128) * scale
        return out * np.array([zeta**e for e in self.exponents], dtype=object)


@dataclass(frozen=True)
class Gauge:
    """An affine slice ``theta[k] = fixed[k]`` fixing the continuous symmetries.

    Attributes
    ----------
    kind : str
        The gauge's name (``incoming``, ``outgoing``, ``gl``, ``none``, ...).
    fixed : dict[int, int]
        Parameter index -> the integer it is set to.
    residual_order : int
        ``|R|``: how many points of the slice each orbit of the continuous group meets.
    permutation_order : int
        Fiber points contributed by the finite symmetries outside the continuous group.
    description : str
    complete : bool
        False when the slice leaves continuous known symmetries unfixed (then no count is expected).
    project : callable, optional
        ``theta -> array (k, P)``: the points of the slice in the continuous orbit of
        ``theta`` (the residual group's orbit); used to bring images of the finite
        group back into the slice. None: the finite group preserves the slice.
    """

    kind: str
    fixed: dict[int, int] = field(default_factory=dict)
    residual_order: int = 1
    permutation_order: int = 1
    description: str = ""
    complete: bool = True
    project: Callable | None = field(default=None, compare=False, repr=False)

    @property
    def expected_points(self) -> int | None:
        """Points of ``fiber ∩ slice`` when the fiber is only the known symmetries (None if not finite)."""
        return self.permutation_order * self.residual_order if self.complete else None

    def free(self, num_params: int) -> np.ndarray:
        """Indices of the parameters not fixed by the slice."""
        return np.array([k for k in range(num_params) if k not in self.fixed], dtype=np.int64)


@dataclass(frozen=True)
class Symmetries:
    """The declared symmetries of ``theta -> f_theta``.

    Attributes
    ----------
    continuous_dimension : int
        Dimension of the known continuous group (the expected generic fiber dimension).
    generators : tuple of ParameterMap
        Generators of a finite group of symmetries acting on ``theta``.
    group_order : int
        Order of the finite group modulo the continuous one (the fiber points it
        contributes in a gauge slice; 1 when it lies inside the continuous group).
    gauges : tuple of str
        The gauges :meth:`Model.gauge` accepts besides ``auto`` and ``none``.
    blocks : tuple of SymmetryBlocks
        The parameter layout of the finite group, when declared: the group is
        the product of these factors (each permutes blocks of parameters and
        the parts inside each block), so that orbits are counted without
        enumerating the group. Empty: only the generators are known.
    """

    continuous_dimension: int
    generators: tuple[ParameterMap, ...] = ()
    group_order: int = 1
    gauges: tuple[str, ...] = ()
    blocks: tuple["SymmetryBlocks", ...] = ()


@dataclass(frozen=True)
class SymmetryBlocks:
    """A factor ``S_m wr S_k`` of a finite symmetry group, declared as a parameter layout.

    ``blocks[j][a]`` is part ``a`` of block ``j``: a tuple of flat parameter
    indices (every part of every block has the same length ``b``, and its
    ``c``-th entries play the same role). The factor permutes the ``k`` blocks,
    and the ``m`` parts inside each block independently. ``weights[c]``
    (optional) is the exponent of a scaling symmetry of each part: its ``c``-th
    parameter goes to ``t^weights[c]`` times itself (``1`` for a neuron's
    incoming weights, ``-r`` for its outgoing ones under ``x^r``). ``shared[j]``
    (optional) are parameters of block ``j`` that move with the block but are
    fixed by the permutations of its parts.

    >>> B = SymmetryBlocks((((0, 1),), ((2, 3),), ((4, 5),)))   # S_3 permuting three pairs
    >>> B.order, B.shape
    (6, (3, 1, 2))
    """

    blocks: tuple[tuple[tuple[int, ...], ...], ...]
    weights: tuple[int, ...] | None = None
    description: str = ""
    shared: tuple[tuple[int, ...], ...] | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(k, m, b)``: blocks, parts per block, parameters per part."""
        return len(self.blocks), len(self.blocks[0]), len(self.blocks[0][0])

    @property
    def order(self) -> int:
        k, m, _ = self.shape
        return factorial(k) * factorial(m) ** k


def choose_gauge(model, kind: str = "auto") -> Gauge:
    """The gauge ``kind`` declared by ``model`` (``auto``: the model's default).

    Raises
    ------
    ValueError
        If ``kind`` does not apply to the model (the message names the gauges that do).
    """
    kinds = ("auto", "none") + tuple(model.symmetries().gauges)
    if kind not in kinds:
        raise ValueError(f"gauge {kind!r} does not apply to this model; it takes one of {', '.join(kinds)}")
    return model.gauge(kind)


def group_elements(generators, num_params: int, max_elements: int = 20000) -> list[ParameterMap]:
    """All elements of the finite group generated by ``generators`` (breadth first, identity first).

    Elements are exact: an index permutation and root-of-unity exponents modulo a
    common order. Returns only the identity when the group has more than
    ``max_elements`` elements.

    >>> g = ParameterMap(perm=(1, 0), order=2, exponents=(1, 0))
    >>> len(group_elements([g], 2))      # (x, y) -> (-y, x): a rotation of order 4
    4
    """
    from math import lcm

    order = lcm(1, *(g.order for g in generators))
    ident = (tuple(range(num_params)), (0,) * num_params)

    def as_pair(g):
        e = g.exponents or (0,) * num_params
        return tuple(g.perm), tuple(k * (order // g.order) % order for k in e)

    gens = [as_pair(g) for g in generators]
    seen = {ident: None}
    frontier = [ident]
    while frontier:
        nxt = []
        for perm, exps in frontier:
            for gp, ge in gens:  # (g o h)(theta)[i] = zeta^ge[i] * h(theta)[gp[i]]
                p = tuple(perm[gp[i]] for i in range(num_params))
                e = tuple((ge[i] + exps[gp[i]]) % order for i in range(num_params))
                if (p, e) not in seen:
                    seen[(p, e)] = None
                    nxt.append((p, e))
                    if len(seen) > max_elements:
                        return [ParameterMap(ident[0])]
        frontier = nxt
    return [ParameterMap(p, order, e) for p, e in seen]


def symmetry_orbit(model, gauge: Gauge, theta, max_points: int = 20000):
    """The points of ``fiber(theta) ∩ slice`` given by the declared finite symmetries.

    Every element of the model's finite group (:func:`group_elements` of
    ``model.symmetries().generators``) is applied to ``theta`` and brought back
    into the slice by the gauge's projection (the residual group's orbit). When
    the finite group lies inside the continuous one (``permutation_order == 1``,
    e.g. permutations inside ``GL``) only the projection of ``theta`` is
    returned. These maps are deck transformations of ``theta -> f_theta``
    restricted to the slice: they preserve ``f_theta`` and commute with analytic
    continuation.

    Returns
    -------
    numpy.ndarray
        Shape ``(k, num_params)``, the first row ``theta``; ``k = group order * |R|``
        for a generic ``theta`` when the gauge projects onto all residual points.

    Example
    -------
    >>> from neurovar.pipeline.models import build_model
    >>> m = build_model({"model": "mlp", "widths": [2, 3, 1], "activation": "x^5"})
    >>> g = choose_gauge(m)
    >>> theta = np.random.default_rng(0).normal(size=m.num_params).astype(complex)
    >>> theta[sorted(g.fixed)] = 1
    >>> O = symmetry_orbit(m, g, theta)
    >>> O.shape, bool(np.allclose(O[:, sorted(g.fixed)], 1))
    ((6, 9), True)
    """
    theta = np.asarray(theta, dtype=np.complex128)
    residual = gauge.residual_order if gauge.project is not None else 1
    if gauge.permutation_order * residual > max_points:
        return theta[None, :].copy()
    project = gauge.project or (lambda t: np.asarray(t)[None, :])
    elements = group_elements(model.symmetries().generators, model.num_params, max_points) \
        if gauge.permutation_order > 1 else []
    out = [np.asarray(project(theta))]
    for g in elements[1:]:
        out.append(np.asarray(project(g(theta))))
    return np.concatenate(out, axis=0)


__all__ = ["Gauge", "ParameterMap", "SymmetryBlocks", "Symmetries", "choose_gauge", "group_elements",
           "symmetry_orbit"]
