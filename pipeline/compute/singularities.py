"""Sparse subnetworks and the singularities of the neurovariety.

A *sparse subnetwork* is a coordinate subspace of the parameters: some
parameters are set to zero (an edge of an MLP, every edge of a hidden neuron,
a tap of a CNN filter). Its image ``M_S`` lies in ``M``. The question of the
talk (a conjecture, proven by Shahverdi, Marchetti and Kohn, *Learning on a
razor's edge*, ICLR 2026, for MLPs with a generic polynomial activation of
large degree and for CNNs) is whether ``Sing(M)`` consists of such images.

Enumeration
-----------
Every zero pattern ``Z`` of at most ``max_zeroed`` parameters is taken. At a
random point ``theta`` with ``theta_Z = 0`` the *free* coordinates are found
exactly: a set ``Phi`` of coordinates is free when re-drawing all of them at
random leaves ``f_theta`` unchanged (tested at ``dim V`` random inputs, which
are coordinates on ``V``, for two independent draws; a non-free set passes with
probability at most ``deg / p``). ``Z`` and ``Z`` plus its free coordinates
have the same image (the incoming weights of a neuron whose outgoing weights
are zero are free), so patterns are merged by that closure and then up to the
permutations of hidden neurons (MLPs). The whole network (``Z`` empty) is the
reference row.

Per subnetwork (all ranks exact over ``GF(p)``, ``p = 2^31 - 1`` then a
second prime ``2147483629`` with a new point, ``confirmed``):

``image_dim``        rank of ``d mu`` restricted to the non-zero coordinates:
                     ``dim M_S``.
``rank_dmu``         rank of the full ``d mu`` at ``theta``; ``critical`` when it
                     is below ``dim M`` (a critical point of the parametrisation).
``tangent_span_dim`` rank of ``[d mu(theta_1) | ... | d mu(theta_K)]`` over
                     ``K`` points of the fibre of ``p = mu(theta)`` (the free
                     coordinates re-drawn). Every ``d mu(theta_k)`` maps into
                     the Zariski tangent space ``T_p M`` (``mu`` maps into
                     ``M``), so ``tangent_span_dim > dim M`` *proves*
                     ``dim T_p M > dim M``: ``p`` is a singular point. This is
                     the tangent-space test; it can only prove singularity.
                     When it and the equations leave a row open, the fibre of
                     ``p`` is searched in the *other* subnetworks: a parameter
                     ``theta'`` of subnetwork ``B`` with ``mu(theta') = p``
                     exactly (the coordinates in which ``f`` is affine, the
                     output layer, solved for over ``GF(p)``, the rest random;
                     :func:`~neurovar.pipeline.algebra.subnetworks.fibre_point_on`),
                     and ``d mu`` at ``theta'`` and its fibre joins the span (the
                     same argument: every fibre point maps into ``T_p M``). For
                     MLPs the constants ``W1 = 0`` are reached from one neuron
                     with ``W1 = 0`` and a dead partner whose incoming weights
                     are free, which proves them singular (method ``tangent-span
                     over the fibre through ...``).
``equations``        where they can be computed: the polynomials of degree
                     ``<= d`` vanishing on ``M`` (the kernel of the monomial
                     matrix of random points of ``M``, in the linear coordinates
                     ``y_j = f(x_j)``), for the smallest ``d`` at which their
                     Jacobian has rank ``codim M`` at a random point of ``M``.
                     If their Jacobian has rank ``codim M`` at ``p`` too, ``p``
                     is *proven smooth* (the equations cut out a manifold of
                     dimension ``dim M`` containing ``M`` near ``p``).
                     ``equations_rank`` is that rank at ``p``.
``singular``         ``true`` (tangent test), ``false`` (equations, or ``M = V``),
                     or null (neither certificate applies). ``method`` names the
                     certificate.
``normal_space_dim`` ``dim V - dim M``: the normal space at smooth points.
``normal_cone_dim``  the dimension of the set of data directions ``u - p`` for
                     which some parameter of the fibre of ``p`` is a critical
                     point of ``||mu(theta) - u||^2``: the union over the fibre
                     of ``(im d mu(theta))^perp``. It is
                     ``dim V - rank_dmu + rank H`` with ``H`` the Hessian of
                     ``n . mu`` (``n`` a random normal vector) against the free
                     coordinates, the derivative of ``d mu`` along the fibre
                     taken exactly by interpolation in ``GF(p)``.
``converse``         on a hypersurface whose equation generates ``I(M)``: the
                     components of ``Sing(M) = V(F, grad F)`` (Singular's
                     ``minAssGTZ`` mod ``2^29 - 3``) and the singular subnetworks
                     whose image closure contains each (null elsewhere).
``cell_can_be_full`` ``image_dim + normal_cone_dim >= dim V``: a necessary
                     condition for the subnetwork's points to be global minima
                     of the loss for a positive-measure set of data (the
                     Voronoi cell of ``M_S`` lies in that critical set).

Example
-------
>>> from neurovar.pipeline.models import build_model
>>> r = singularities(build_model({"model": "mlp", "widths": [1, 2, 1], "activation": "generic:4"}))
>>> r["dimension"], r["ambient_dimension"]
(4, 5)
>>> [(s["zeroed"], s["singular"]) for s in r["subnetworks"] if s["image_dim"] == 2]
[('neuron 1.1 removed', True)]
"""

from __future__ import annotations

from dataclasses import dataclass

import itertools

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..algebra.subnetworks import (_interpolated_derivative, _left_kernel_vector, _poly_text,
                                   _Setup, degree_bound, describe, fibre_point_on, free_coordinates,
                                   implicit_equations, neuron_permutations, parameter_labels, subnetwork_equations)
from ..models.base import Model

VERSION = "1"
PRIMES = (2147483647, 2147483629)
#: Singular's primary decomposition accepts characteristics below 2^29
CONVERSE_PRIME = 536870909


# --------------------------------------------------------------------------- the computation
def _canonical(patterns_perm: list[np.ndarray], zeroed: set[int]) -> tuple[int, ...]:
    return min(tuple(sorted(int(perm[i]) for i in zeroed)) for perm in patterns_perm)


def _analyse(model: Model, prime: int, seed: int, max_zeroed: int | None, use_equations: bool) -> dict:
    S = _Setup(model, prime, seed)
    P, n = model.num_params, S.n
    theta0 = S.random_theta()
    dim_M = S.rank(S.jacobian(theta0))
    codim = n - dim_M
    perms = neuron_permutations(model)
    eqs = implicit_equations(S, dim_M) if (use_equations and codim > 0) else []
    kmax = P if max_zeroed is None else min(P, max_zeroed)
    seen: dict[tuple[int, ...], dict] = {}
    for k in range(kmax + 1):
        for Z in itertools.combinations(range(P), k):
            theta = S.random_theta(Z)
            phi = free_coordinates(S, theta)
            closure = set(Z) | set(phi)
            key = _canonical(perms, closure)
            if key in seen:
                seen[key]["patterns"] += 1
                continue
            seen[key] = {"zeroed_params": list(key), "patterns": 1, "_theta": theta, "_phi": phi}
    deg = degree_bound(model)
    rows = []
    for key, rec in seen.items():
        theta, phi = rec.pop("_theta"), rec.pop("_phi")
        live = [i for i in range(P) if i not in set(key)]
        theta = S.random_theta(key)  # a fresh generic point of the canonical subnetwork
        J = S.jacobian(theta)
        image_dim = S.rank(J[:, live]) if live else 0
        rank_dmu = S.rank(J)
        phi = free_coordinates(S, theta)
        # tangent span over the fibre: the free coordinates re-drawn
        blocks, tangent = [J], rank_dmu
        while phi and len(blocks) <= n:  # add fibre points while the span grows (at most dim V of them)
            th = theta.copy()
            th[phi] = S.F.random(len(phi), S.rng)
            blocks.append(S.jacobian(th))
            grown = S.rank(np.concatenate(blocks, axis=1))
            if grown == tangent or grown > dim_M:
                tangent = grown
                break
            tangent = grown
        # normal cone: dim V - rank + rank of the Hessian of n . mu against the free coordinates
        th1 = theta.copy()
        if phi:
            th1[phi] = S.F.random(len(phi), S.rng)
        J1 = S.jacobian(th1)
        r1 = S.rank(J1)
        hess_rank = 0
        if phi and r1 < n:
            nvec = _left_kernel_vector(S, J1)

            def g(th, nvec=nvec):
                return S.F.matmul(nvec[None, :], S.jacobian(th))[0]

            H = np.stack([_interpolated_derivative(S, g, th1, k, deg) for k in phi], axis=1)
            hess_rank = S.rank(H)
        normal_cone = min(n, n - r1 + hess_rank)
        y = S.values(theta)
        eq_ranks = [e.jacobian_rank(S, y) for e in eqs]
        eq_rank = eq_ranks[0] if eq_ranks else None
        if codim == 0:
            singular, method = False, "filling: M = V is smooth"
        elif tangent > dim_M:
            singular, method = True, "tangent-span"
        elif eq_rank is not None and eq_rank == codim:
            singular, method = False, "equations: Jacobian rank = codim"
        elif eqs and eqs[0].complete:
            singular, method = True, "equations: the hypersurface's equation and its gradient vanish"
        elif len(eq_ranks) > 1 and max(eq_ranks) < codim:
            singular, method = True, f"equations: Jacobian rank < codim with degrees {eqs[0].degree} and {eqs[1].degree}"
        else:
            singular, method = None, "undecided"
        rec.update(
            zeroed=describe(model, key),
            zeroed_labels=[parameter_labels(model)[i] for i in key],
            free_in_fibre=len(phi),
            image_dim=image_dim,
            rank_dmu=rank_dmu,
            critical=rank_dmu < dim_M,
            tangent_span_dim=tangent,
            equations_rank=eq_rank,
            singular=singular,
            method=method,
            normal_space_dim=codim,
            normal_cone_dim=normal_cone,
            cell_can_be_full=image_dim + normal_cone >= n,
        )
        rows.append(rec)
    for rec in rows:
        if rec["singular"] is None:
            _through_other_fibres(S, rec, rows, dim_M, deg)
    rows.sort(key=lambda r: (-r["image_dim"], len(r["zeroed_params"]), r["zeroed_params"]))
    return {"dimension": dim_M, "rows": rows, "complete": bool(eqs and eqs[0].complete),
            "equations_degree": eqs[0].degree if eqs else None,
            "equations_count": int(len(eqs[0].C)) if eqs else None}


def _through_other_fibres(S: _Setup, rec: dict, rows: list[dict], dim_M: int, deg: int) -> None:
    """The tangent-space test over the fibre of a random point ``p`` of ``rec``'s image, joined with the
    fibre points found in every other subnetwork of at least its image dimension (exact mod p)."""
    key = tuple(rec["zeroed_params"])
    theta = S.random_theta(key)
    y = S.values(theta)
    blocks = [S.jacobian(theta)]
    used = 0
    for other in rows:
        if other is rec or other["image_dim"] < rec["image_dim"] or other["image_dim"] >= dim_M:
            continue
        th = fibre_point_on(S, tuple(other["zeroed_params"]), y, deg)
        if th is None:
            continue
        blocks.append(S.jacobian(th))
        used += 1
        phi = free_coordinates(S, th)
        if phi:
            th2 = th.copy()
            th2[phi] = S.F.random(len(phi), S.rng)
            blocks.append(S.jacobian(th2))
        span = S.rank(np.concatenate(blocks, axis=1))
        if span > dim_M:
            rec.update(singular=True, tangent_span_dim=span,
                       method=f"tangent-span over fibre points in {used} other subnetworks (last '{other['zeroed']}')")
            return


def converse(model: Model, seed: int = 0, timeout: float = 120.0) -> dict | None:
    """The converse on a hypersurface ``M = {F = 0}`` whose equation is known to generate ``I(M)``:
    every component of ``Sing(M) = V(F, grad F)`` (minimal associated primes over ``GF(2^29 - 3)``,
    Singular's ``minAssGTZ``) lies in the closure of the image of a singular sparse subnetwork
    (the subnetwork's interpolated equations reduce to 0 modulo the component's standard basis).

    Returns None when the equation is not known to be complete (codim > 1) or Singular is missing.
    """
    import shutil

    from ..processes import run_solver
    from ..solver_use import note_solver

    exe = shutil.which("Singular")
    if exe is None:
        return None
    prime = CONVERSE_PRIME
    a = _analyse(model, prime, seed, None, True)
    S = _Setup(model, prime, seed)
    dim_M = S.rank(S.jacobian(S.random_theta()))
    eqs = implicit_equations(S, dim_M)
    if not eqs or not eqs[0].complete:
        return None
    F = _poly_text(eqs[0].E, eqs[0].C[0])
    sing = [r for r in a["rows"] if r["singular"] is True and r["zeroed_params"]]
    subs = []
    for r in sing:
        eq = subnetwork_equations(S, tuple(r["zeroed_params"]), r["image_dim"])
        if eq is not None:
            subs.append((r["zeroed"], [_poly_text(eq.E, c) for c in eq.C]))
    n = S.n
    names = ",".join(f"y{i + 1}" for i in range(n))
    lines = [f"ring r = {prime}, ({names}), dp;", 'LIB "primdec.lib";', f"poly F = {F};",
             "ideal J = F, " + ", ".join(f"diff(F, y{i + 1})" for i in range(n)) + ";",
             "list P = minAssGTZ(J);", 'print("components " + string(size(P)));', "int i; ideal G;"]
    for k, (_, gens) in enumerate(subs):
        lines.append(f"ideal I{k} = " + ", ".join(gens) + ";")
    lines.append("for (i = 1; i <= size(P); i++) { G = std(P[i]);")
    for k in range(len(subs)):
        lines.append(f'  if (size(reduce(I{k}, G)) == 0) {{ print("covered " + string(i) + " {k}"); }}')
    lines.append('  print("dim " + string(i) + " " + string(dim(G))); }')
    lines.append("quit;")
    # the script on stdin (no file left behind); run_solver makes Singular die with its cell
    note_solver("Singular")  # its version enters the cell's fingerprint
    out = run_solver([exe, "-q", "--no-rc"], timeout=timeout, input="\n".join(lines) + "\n").stdout
    comps = int(next(ln.split()[1] for ln in out.splitlines() if ln.startswith("components")))
    covered: dict[int, list[str]] = {}
    dims: dict[int, int] = {}
    for ln in out.splitlines():
        if ln.startswith("covered"):
            _, i, k = ln.split()
            covered.setdefault(int(i), []).append(subs[int(k)][0])
        elif ln.startswith("dim"):
            _, i, d = ln.split()
            dims[int(i)] = int(d)
    return {
        "components": [{"dimension": dims.get(i), "on_subnetworks": covered.get(i, [])} for i in range(1, comps + 1)],
        "holds": all(covered.get(i) for i in range(1, comps + 1)),
        "method": "minAssGTZ of (F, grad F) over GF(2^29-3); subnetwork equations reduce to 0 modulo each component",
    }


def singularities(model: Model, seed: int = 0, max_zeroed: int | None = None, equations: bool = True,
                  run_converse: bool = True) -> dict:
    """Enumerate the sparse subnetworks of ``model`` and classify their images (see the module docstring).

    With ``run_converse`` and a hypersurface ``M`` whose equation is known to generate ``I(M)``, also
    :func:`converse`: every component of ``Sing(M)`` lies on a singular subnetwork's image.
    """
    a = _analyse(model, PRIMES[0], seed, max_zeroed, equations)
    b = _analyse(model, PRIMES[1], seed + 7919, max_zeroed, equations)
    fields = ("image_dim", "rank_dmu", "tangent_span_dim", "singular", "normal_cone_dim")
    other = {tuple(r["zeroed_params"]): r for r in b["rows"]}
    confirmed = a["dimension"] == b["dimension"] and len(a["rows"]) == len(b["rows"])
    for r in a["rows"]:
        o = other.get(tuple(r["zeroed_params"]))
        r["confirmed"] = o is not None and all(o[f] == r[f] for f in fields)
        confirmed &= r["confirmed"]
    subs = a["rows"]
    proper = [r for r in subs if r["zeroed_params"]]
    sing = [r for r in proper if r["singular"] is True]
    return {
        "dimension": a["dimension"],
        "ambient_dimension": model.ambient_dimension,
        "num_params": model.num_params,
        "subnetworks": subs,
        "num_subnetworks": len(proper),
        "num_singular": len(sing),
        "num_smooth": sum(1 for r in proper if r["singular"] is False),
        "num_undecided": sum(1 for r in proper if r["singular"] is None),
        "num_critical": sum(1 for r in proper if r["critical"]),
        "num_full_cells": sum(1 for r in proper if r["cell_can_be_full"] and r["image_dim"] < a["dimension"]),
        "equations_degree": a["equations_degree"],
        "equations_count": a["equations_count"],
        "primes": list(PRIMES),
        "confirmed": bool(confirmed),
        "converse": converse(model, seed) if (run_converse and equations and a["complete"]) else None,
    }


class SingularitiesParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    max_zeroed: int | None = Field(None, description="largest number of zeroed parameters (default: all)")
    equations: bool = Field(True, description="interpolate the equations of M to prove points smooth")
    converse: bool = Field(True, description="on a hypersurface: decompose Sing(M) and place it on subnetworks (Singular)")

    @field_validator("max_zeroed")
    @classmethod
    def _mz(cls, v):
        if v is not None and v < 0:
            raise ValueError(f"must be a non-negative integer, got {v}")
        return v


def _run(model: Model, params: SingularitiesParams, seed: int) -> dict:
    if model.num_params > 14 and params.max_zeroed is None:
        raise ValueError(f"{model.num_params} parameters give 2^{model.num_params} zero patterns: set max_zeroed")
    return singularities(model, seed=seed, max_zeroed=params.max_zeroed, equations=params.equations,
                         run_converse=params.converse)


from . import Computation  # noqa: E402

@dataclass
class SingularitiesOutputs:
    """The output columns of ``singularities`` (the Parquet schema is derived from it)."""

    dimension: int | None = None
    ambient_dimension: int | None = None
    num_params: int | None = None
    num_subnetworks: int | None = None
    num_singular: int | None = None
    num_smooth: int | None = None
    num_undecided: int | None = None
    num_critical: int | None = None
    num_full_cells: int | None = None
    equations_degree: int | None = None
    equations_count: int | None = None
    confirmed: bool | None = None
    converse: dict | list | None = None
    subnetworks: dict | list | None = None


COMPUTATION = Computation(
    name="singularities",
    version=VERSION,
    run=_run,
    params=SingularitiesParams,
    description="sparse subnetworks: image dimension, criticality, membership in Sing(M), normal cones",
    models=None,  # every model through the model protocol (forward pass, Jacobian, param_shapes)
    outputs=SingularitiesOutputs,
    cost=lambda model, params: 0.05 * 2 ** min(model.num_params, 14),
)
