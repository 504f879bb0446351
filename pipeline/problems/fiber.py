"""Numerical fibers of ``theta -> f_theta`` by monodromy: the second method of the ``fiber`` computation.

After a gauge (:mod:`pipeline.algebra.gauge`) the unknowns are the ``n`` free
parameters ``theta`` of the slice, and the equations are the **coefficient
identities**

    c_alpha(theta) - p_alpha = 0,    alpha a monomial of ``V`` (and an output),

where ``c_alpha(theta)`` is the coefficient of ``x^alpha`` in ``f_theta``
(expanded exactly over ``Q`` with python-flint, inputs symbolic) and the
parameters ``p`` are the target coefficients. The base point is
``p0 = c(theta0)`` for a random complex ``theta0`` in the slice; the graph of
``theta -> c(theta)`` is irreducible, so monodromy acts transitively on the
fiber over a generic image point (all of it lies on the graph's one component).

**Square** (``n == N``, the number of non-zero coefficient polynomials; e.g.
shallow monomial networks filling ``V``, Waring type): the system is used as is
and the solutions are certified by Krawczyk's method on it.

**Over-determined** (``n < N``): monodromy would leave the image of the map, so
the system is *squared up*: ``A (c(theta) - p) = 0`` with a random integer
``n x N`` matrix ``A``, whose parameters ``b = A p`` range over all of
``C^n`` (the map ``A c`` is dominant when the fiber is finite). Its solutions
over ``b0 = A c(theta0)`` contain the fiber; the others map to the other points
of ``M ∩ {A y = b0}`` (``deg M`` of them for a cone ``M``), so their number is
(fiber size) x (a degree). The fiber is what survives the **filter**: the full
residual ``max |c(theta) - c(theta0)|`` must be below ``1e-8`` times the scale of
the coefficients (it is ``~1e-15`` on fiber points and ``O(1)`` elsewhere).
Krawczyk certifies the points of the squared-up system (a unique solution in
each box); that they satisfy the full system is a floating-point check, so
``certified`` counts certified distinct squared-up solutions that pass the
filter.

The known finite symmetries (:func:`pipeline.algebra.gauge.symmetry_orbit`) are
passed to monodromy as a group action: one representative per orbit is
tracked, each new solution brings its whole orbit.

What the count means: see :func:`numerical_fiber` (``stop_reason``).

Example
-------
>>> from neurovar.pipeline.models import build_model
>>> r = numerical_fiber(build_model({"model": "mlp", "widths": [2, 2, 1], "activation": "x^3"}), seed=0)
>>> r["fiber_points"], r["orbits"], r["group_order"], r["completeness"], r["squared_up"]
(2, 1, 2, 'trace-test', False)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction

import flint
import numpy as np

from ..algebra.gauge import Gauge, choose_gauge, symmetry_orbit
from ..numeric.system import System
from ..numeric.tracker import TrackerOptions
from .crossings import ChartCrossings
from .groups import declared_block_group


@dataclass
class NetworkFiberFamily:
    """The fiber equations of a network in a gauge slice, ready for monodromy.

    Attributes
    ----------
    system : System
        The square system (the coefficient identities, or their squared-up
        combination ``A (c(theta) - p)`` with parameters ``b``).
    full : System
        The coefficient identities ``c(theta) - p`` (``N`` equations, ``n`` unknowns).
    A : numpy.ndarray or None
        The integer squaring-up matrix (None when square).
    free : numpy.ndarray
        Indices of the free parameters in the flat parameter vector.
    theta0 : numpy.ndarray
        The complex base point (full parameter vector, in the slice).
    p0 : numpy.ndarray
        The target coefficients ``c(theta0)``.
    gauge : Gauge
    """

    system: System
    full: System
    A: np.ndarray | None
    free: np.ndarray
    theta0: np.ndarray
    p0: np.ndarray
    gauge: Gauge
    model: object

    @property
    def squared_up(self) -> bool:
        return self.A is not None

    @property
    def base_parameters(self) -> np.ndarray:
        return self.p0 if self.A is None else self.A @ self.p0

    def trace_direction(self, rng) -> np.ndarray:
        """A direction ``v = J r`` of targets (``J`` the system's Jacobian at ``theta0``, ``r`` random):
        the trace test's line ``p0 + lam v`` moves ``theta0`` at unit speed, ``dtheta/dlam = r``.

        A random ``v`` of ``p0``'s scale moves a decomposition of a plane septic at speeds of
        ``1e2``-``1e3`` (the coefficient map's condition number is ~1e4-1e6), so the trace curve's
        branch points and far points crowd ``|lam| < 1e-3`` and the extra witnesses' monodromy
        stalled at 182 of them; with ``v = J r`` it found 300 (same base fibre, same seed). Any
        ``r`` with a density gives a generic ``v``, ``J`` being invertible.
        """
        J = self.system.jacobian(self.theta0[self.free][None, :], self.base_parameters)[1][0]
        r = (rng.normal(size=J.shape[1]) + 1j * rng.normal(size=J.shape[1])) / np.sqrt(2)
        return J @ r

    def full_theta(self, x) -> np.ndarray:
        t = self.theta0.copy()
        t[self.free] = x
        return t

    def group_action(self, x) -> np.ndarray:
        return symmetry_orbit(self.model, self.gauge, self.full_theta(x))[:, self.free]

    def residual(self, X) -> np.ndarray:
        """``max_alpha |c_alpha(theta) - c_alpha(theta0)|`` relative to ``1 + max |c(theta0)|``."""
        R = self.full.evaluate(np.atleast_2d(X), self.p0)
        return np.abs(R).max(axis=1) / (1 + np.abs(self.p0).max())


def coefficient_polynomials(model, gauge: Gauge):
    """``c_alpha(theta_free)``: the coefficients of ``f_theta`` in the inputs, as exact polynomials.

    Returns ``(ctx, polys, free)``: an ``fmpq_mpoly`` context in ``t0..t(n-1)``
    (the free parameters), the non-zero coordinates of ``f_theta`` in ``V``
    (:meth:`pipeline.models.base.Model.coefficients`: outputs outer, monomials
    inner) and the free parameter indices.

    Example
    -------
    >>> from neurovar.pipeline.models import build_model
    >>> m = build_model({"model": "mlp", "widths": [2, 2, 1], "activation": "x^2"})
    >>> ctx, polys, free = coefficient_polynomials(m, choose_gauge(m))
    >>> [str(p) for p in polys]   # f = t2 (x0 + t0 x1)^2 + t3 (x0 + t1 x1)^2
    ['t2 + t3', '2*t0*t2 + 2*t1*t3', 't0^2*t2 + t1^2*t3']
    """
    free = gauge.free(model.num_params)
    n = len(free)
    ctx = flint.fmpq_mpoly_ctx.get(tuple(f"t{i}" for i in range(n)) if n else ("t0",), "lex")
    g = ctx.gens()
    params = np.empty(model.num_params, dtype=object)
    for k, v in gauge.fixed.items():
        params[k] = ctx.constant(v)
    for i, k in enumerate(free):
        params[k] = g[i]
    polys = [p for p in model.coefficients(params) if not p.is_zero()]
    return ctx, polys, free


def network_fiber_family(model, gauge: Gauge | None = None, seed: int = 0, height: int = 3,
                         draws: int = 16) -> NetworkFiberFamily:
    """Build the (squared-up) fiber system of ``model`` in ``gauge`` at a random complex ``theta0``.

    ``height`` bounds the entries of the random integer squaring-up matrix.
    ``theta0`` is the best conditioned of ``draws`` random draws (the smallest
    ``s_max / s_min`` of the coefficient map's Jacobian): every draw is generic
    with probability one, but the conditioning of a decomposition varies over
    orders of magnitude (for plane quintics, 1.4e3 to 5.6e6 over 40 draws), and
    a base point close to where neurons collide makes every path near it, and
    the trace test's curve, badly conditioned.
    """
    gauge = gauge if gauge is not None else choose_gauge(model)
    ctx, polys, free = coefficient_polynomials(model, gauge)
    n, N = len(free), len(polys)
    if n == 0:
        raise ValueError("no free parameters: the slice is a point")
    if n > N:
        raise ValueError(f"{n} free parameters but only {N} coefficients: the fiber is positive-dimensional")
    rows = []
    for r, p in enumerate(polys):
        d = {tuple(int(v) for v in e[:n]) + (0,) * N: Fraction(int(c.p), int(c.q))
             for e, c in p.to_dict().items()}
        zero = (0,) * n + tuple(int(r == s) for s in range(N))
        d[zero] = d.get(zero, 0) - 1
        rows.append(d)
    tnames, pnames = [f"t{i}" for i in range(n)], [f"p{r}" for r in range(N)]
    full = System(rows, tnames, pnames)
    rng = np.random.default_rng([seed, 0xF1BE, 7])
    best = (np.inf, None)
    for _ in range(max(1, draws)):
        th = (rng.normal(size=model.num_params) + 1j * rng.normal(size=model.num_params)) / np.sqrt(2)
        for k, v in gauge.fixed.items():
            th[k] = v
        J = full.jacobian(th[free][None, :], np.zeros(N))[1][0]
        s = np.linalg.svd(J, compute_uv=False)
        cond = s[0] / s[-1] if s[-1] > 0 else np.inf
        if cond < best[0] or best[1] is None:
            best = (cond, th)
    theta0 = best[1]
    p0 = full.evaluate(theta0[free][None, :], np.zeros(N))[0]  # F(theta0; 0) = c(theta0)
    A = None
    system = full
    if N > n:
        A = rng.integers(-height, height + 1, size=(n, N))
        while np.linalg.matrix_rank(A) < n:
            A = rng.integers(-height, height + 1, size=(n, N))
        sq = []
        bnames = [f"b{i}" for i in range(n)]
        for i in range(n):
            d: dict = {}
            for r, p in enumerate(polys):
                if A[i, r] == 0:
                    continue
                for e, c in p.to_dict().items():
                    key = tuple(int(v) for v in e[:n]) + (0,) * n
                    d[key] = d.get(key, 0) + int(A[i, r]) * Fraction(int(c.p), int(c.q))
            d[(0,) * n + tuple(int(i == s) for s in range(n))] = Fraction(-1)
            sq.append({k: v for k, v in d.items() if v != 0})
        system = System(sq, tnames, bnames)
    return NetworkFiberFamily(system, full, A, free, theta0, p0, gauge, model)


def numerical_fiber(model, gauge: Gauge | None = None, seed: int = 0, *, target_count: int | None = None,
                    stall_loops: int = 5, time_limit: float | None = None, certify: bool = True,
                    use_symmetries: bool = True, exact: int | None = None, distribute: str | None = None,
                    client=None) -> dict:
    """Points of the generic fiber in the gauge slice, by monodromy from ``theta0``, certified.

    Parameters
    ----------
    model : Model
        Any model of the protocol whose generic fiber in the slice is finite
        (check the slice Jacobian's rank first; a positive-dimensional fiber
        makes ``theta0`` a non-isolated solution and is refused by Newton).
        What it declares decides the fast paths (see ``fast_paths``).
    gauge : Gauge, optional
        Default :func:`choose_gauge` ``(model)``.
    seed : int
        Draws ``theta0``, the squaring-up matrix and the loops.
    target_count : int, optional
        Stop monodromy at this many fiber points (a stop, not a certificate:
        the count is still certified by the trace test). Ignored for
        squared-up systems.
    stall_loops : int
        See :func:`pipeline.numeric.monodromy.monodromy_solve`.
    time_limit : float, optional
        Seconds for the whole count (monodromy, certification, trace test).
    certify : bool
        Kept for compatibility: the count is always certified (the trust rule
        needs it).
    use_symmetries : bool
        Use the declared finite symmetries: as a block permutation group when
        the model declares their layout and the gauge keeps it
        (:mod:`pipeline.problems.groups`; one representative per orbit, never
        enumerated), otherwise the declared generators as an enumerated group
        action (the certified points are then sorted into their orbits, see
        :func:`enumerated_orbits`).
    exact : int, optional
        An exact count of the fiber to compare with (``completeness`` is then
        ``exact-agrees`` when it equals the certified points).
    distribute : str, optional
        ``auto``, ``always`` or ``never``: monodromy rounds as Dask tasks on
        ``client`` (:mod:`pipeline.numeric.distribute`).
    client : distributed.Client or callable, optional
        Where spread rounds go (None: this process).

    Returns
    -------
    dict
        ``fiber_points`` (the count, or None when only a lower bound),
        ``count`` (points found: ``orbits * group_order``), ``lower_bound``,
        ``certified`` (certified distinct representatives passing the filter),
        ``completeness`` (``trace-test`` / ``exact-agrees`` / ``none``),
        ``reason``, ``trusted``, ``orbits``, ``group_order``, ``free``,
        ``stop_reason`` (what stopped monodromy: never a certificate),
        ``squared_up``, ``solutions_squared_up``, ``loops``, ``paths_tracked``,
        ``seconds``, ``num_unknowns``, ``num_equations``, ``solutions``
        (certified representatives passing the filter), ``fast_paths`` (which of
        ``block-group``, ``enumerated-group``, ``traced-incoming-sums`` and
        ``chart-crossings`` applied, comma-separated, or ``none``).
    """
    from ..numeric.count import certified_count

    t0 = time.perf_counter()
    fam = network_fiber_family(model, gauge, seed)
    S = fam.system
    x0 = fam.theta0[fam.free]
    group, weights = declared_block_group(model, fam.gauge, fam.free) if use_symmetries else (None, None)
    action = fam.group_action if use_symmetries and group is None and fam.gauge.permutation_order > 1 else None
    filt = (lambda X: fam.residual(X) <= 1e-8) if fam.squared_up else None
    # loop endpoints are judged by the equilibrated condition number: a decomposition with a neuron near
    # the gauge chart's line at infinity (incoming weights ~13, output weight ~1e-8) is a simple root
    # whose raw condition number is ~1e11; with the raw bound of 1e10 the (3, 12, 1) x^7 fibre over
    # seed 1 kept 4 of its 5 orbits after 198 loops, with this one all 5 after 65
    loop_opts = TrackerOptions(endgame=False, corrector_tol=1e-4, singular_condition=1e12, equilibrated=True)
    image = incoming_sums(group, weights)
    crossings = ChartCrossings.for_fiber(model, fam, image, network_fiber_family)
    C = certified_count(S, x0, fam.base_parameters, group=group, seed=seed, time_limit=time_limit, options=loop_opts,
                        stall_loops=stall_loops, filter=filt, exact=exact,
                        target_count=None if fam.squared_up else target_count, group_action=action,
                        distribute=distribute, client=client, image=image,
                        direction=fam.trace_direction, witnesses=crossings)
    R = C.monodromy
    order, orbits = C.group_order, C.orbits
    if action is not None and C.count is not None and len(C.solutions) == C.count:
        classes = enumerated_orbits(fam.group_action, C.solutions)
        if classes is not None:  # the enumerated group's orbits, all of one size: fiber points up to symmetry
            orbits, order = classes
    fast = [name for name, used in (("block-group", group is not None), ("enumerated-group", action is not None),
                                    ("traced-incoming-sums", image is not None),
                                    ("chart-crossings", crossings is not None)) if used]
    return {
        "fiber_points": C.count,
        "count": int(orbits) * order,
        "lower_bound": C.lower_bound,
        "certified": C.certified * C.group_order if C.free else C.certified,
        "certified_orbits": C.certified,
        "completeness": C.completeness,
        "reason": C.reason,
        "trusted": C.count is not None,
        "orbits": orbits,
        "group_order": order,
        "free": C.free,
        "stop_reason": R.stop_reason,
        "squared_up": fam.squared_up,
        "solutions_squared_up": R.count * C.group_order if fam.squared_up else None,
        "loops": R.loops,
        "paths_tracked": R.paths_tracked,
        "seconds": time.perf_counter() - t0,
        "num_unknowns": S.n_variables,
        "num_equations": fam.full.n_equations,
        "solutions": C.solutions,
        "trace": C.trace,
        "fast_paths": ",".join(fast) or "none",
    }


def enumerated_orbits(action, X, tol: float = 1e-6, max_points: int = 3000) -> tuple[int, int] | None:
    """``(orbits, orbit size)`` of an enumerated group action on the points ``X`` (rows), else None.

    ``action(x)`` is the orbit of ``x`` (``x`` first). Each orbit must lie in ``X`` (to ``tol``
    relative to the points' size) and all orbits must have one size, which is then the group's
    order on these points (a generic fiber point's stabiliser is trivial modulo the continuous
    group); otherwise None and each point counts as its own orbit. ``max_points``: above it, None.

    >>> act = lambda x: np.array([x, -x])                      # x -> -x
    >>> enumerated_orbits(act, np.array([[1.0], [-1.0], [2.0], [-2.0]]))
    (2, 2)
    >>> enumerated_orbits(act, np.array([[1.0], [-1.0], [2.0]])) is None   # -2 is missing
    True
    """
    X = np.asarray(X)
    if not 0 < len(X) <= max_points:
        return None
    label, sizes = np.full(len(X), -1), []
    scale = 1.0 + float(np.abs(X).max())
    for i in range(len(X)):
        if label[i] >= 0:
            continue
        d = np.abs(np.asarray(action(X[i]))[:, None, :] - X[None, :, :]).max(axis=2)
        if not (d.min(axis=1) <= tol * scale).all():
            return None
        members = np.unique(d.argmin(axis=1))
        if (label[members] >= 0).any():
            return None
        label[members] = len(sizes)
        sizes.append(len(members))
    return (len(sizes), sizes[0]) if len(set(sizes)) == 1 else None


def incoming_sums(group, weights):
    """The trace test's forms for a block group: the sums over blocks of their incoming coordinates.

    A :class:`~pipeline.numeric.trace_forms.LinearImage` of the group's
    invariant linear forms on the coordinates of declared weight ``+1`` (a
    neuron's incoming weights), without the others (the output weights): those
    grow with the target (a pole at ``lam = infinity``) and dominate the image,
    and with them the extra witnesses' monodromy stalls early (measured on the
    plane quintic: 3 to 14 of its 35 extra witnesses, against all 35 without
    them). None without a group or declared weights, or when no incoming
    coordinate is free (the trace test then traces all invariant forms).
    """
    from ..numeric.trace_forms import LinearImage

    if group is None or weights is None or len(group.parts) != 1 or group.parts[0].shape[1] != 1:
        return None
    A = group.invariant_forms(group.n)
    cols = [c for c, w in enumerate(weights) if w == 1]
    return LinearImage(A[:, cols]) if cols else None


__all__ = ["NetworkFiberFamily", "enumerated_orbits", "incoming_sums", "coefficient_polynomials", "network_fiber_family", "numerical_fiber"]
