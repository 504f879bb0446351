"""Registry entries for CNNs and lightning self-attention (what the papers state).

Each check reads the row's columns and the *declared* architecture of its model
(``convolutional``, ``lightning_attention``: :mod:`pipeline.models.structure`), never
the model's name.

* ``cnn-linear-fiber`` (theorem): a linear CNN with stride 1 multiplies its
  filters as polynomials, so a generic end-to-end filter of degree
  ``sum (k_l - 1)`` has distinct roots and its factorisations into factors of
  degrees ``k_l - 1`` (up to the scalings) correspond to the distributions of
  the roots: ``multinomial(sum (k_l - 1); k_1 - 1, ..., k_L - 1)`` points
  (Kohn, Merkh, Montufar, Trager, *Geometry of linear convolutional networks*,
  SIAM J. Appl. Algebra Geom. 2022).
* ``cnn-monomial-identifiable`` (theorem): with ``s = x^r`` (``r >= 2``) the
  parameterization is an isomorphism almost everywhere up to rescaling the
  filters (Shahverdi, Marchetti, Kohn, *On the geometry and optimization of
  polynomial convolutional networks*, AISTATS 2025): the fiber has dimension
  ``L - 1`` and meets the gauge slice once.
* ``cnn-linear-stride-edd`` (theorem): filters ``(k_1, k_2)`` with strides
  ``(k_1, 1)`` give the end-to-end filter ``w_2 (x) w_1``: the ``k_2 x k_1``
  matrices of rank one, whose ED degree for the Frobenius norm is
  ``min(k_1, k_2)`` (Eckart--Young).
* ``attention-identifiability`` (theorem): the generic fiber of lightning
  self-attention is the orbit of ``GL(n) x C*`` (and the swap of ``V`` and ``K``
  when ``d_out = n = 1``), the symmetry group derived in
  :class:`pipeline.models.attention.Attention` (Henry, Marchetti, Kohn,
  *Geometry of lightning self-attention: identifiability and dimension*, ICLR 2025).

Example
-------
>>> from neurovar.catalog.conjectures import REGISTRY
>>> sorted(n for n in REGISTRY if n.startswith(("cnn-", "attention-id")))
['attention-identifiability', 'cnn-linear-fiber', 'cnn-linear-stride-edd', 'cnn-monomial-identifiable']
"""

from __future__ import annotations

from math import factorial

from .analysis import declares
from .registry import Conjecture, Outcome, _get, register

_KMMT = "Kohn, Merkh, Montufar, Trager, Geometry of linear convolutional networks, SIAM J. Appl. Algebra Geom. 6 (2022)"
_SMK = ("Shahverdi, Marchetti, Kohn, On the geometry and optimization of polynomial convolutional networks, "
        "AISTATS 2025")
_HMK = "Henry, Marchetti, Kohn, Geometry of lightning self-attention: identifiability and dimension, ICLR 2025"


def _cnn(row, linear: bool):
    net = declares(row, "convolutional")
    if net is None:
        return f"model {row.get('model')} is not convolutional"
    if net.bias:
        return "bias"
    act, kind = row.get("activation"), row.get("activation_kind")
    if linear and kind != "linear":
        return f"activation {act} is not linear"
    if not linear and kind != "monomial":
        return f"activation {act} is not x^r with r >= 2"
    if net.depth < 2:
        return "fewer than two layers"
    return list(net.filters), list(net.strides)


def _check_linear_fiber(row):
    c = _cnn(row, linear=True)
    if isinstance(c, str):
        return c
    filters, strides = c
    if any(s != 1 for s in strides):
        return "strides other than 1"
    if _get(row, "gauge_kind") != "incoming" or _get(row, "fiber_points") is None:
        return "no count in the incoming gauge"
    degs = [k - 1 for k in filters]
    expected = factorial(sum(degs))
    for g in degs:
        expected //= factorial(g)
    got = int(_get(row, "fiber_points"))
    return Outcome(got == expected, f"{expected} points (root distributions)", f"{got} points")


def _check_monomial_fiber(row):
    c = _cnn(row, linear=False)
    if isinstance(c, str):
        return c
    filters, _ = c
    if _get(row, "fiber_points") is None:
        return "no count"
    dim, pts = int(_get(row, "fiber_dimension")), int(_get(row, "fiber_points"))
    return Outcome(dim == len(filters) - 1 and pts == 1, f"fiber dim {len(filters) - 1}, 1 point in the gauge",
                   f"fiber dim {dim}, {pts} points")


def _check_stride_edd(row):
    c = _cnn(row, linear=True)
    if isinstance(c, str):
        return c
    filters, strides = c
    if len(filters) != 2 or strides[0] != filters[0]:
        return "not filters (k1, k2) with first stride k1"
    if row.get("weights") not in ("identity", None) or _get(row, "edd") is None:
        return "not the Frobenius norm, or no count"
    expected, got = min(filters), int(_get(row, "edd"))
    return Outcome(got == expected, f"ED degree {expected} (Eckart-Young)", f"ED degree {got}")


def _check_attention(row):
    if not declares(row, "lightning_attention"):
        return f"model {row.get('model')} is not lightning self-attention"
    if (_get(row, "t") or 0) < 2:
        return "t < 2 tokens (the virtual weights are not identifiable)"
    if int(_get(row, "layers", 1) or 1) != 1:
        return "deep attention (the statement is for one layer)"
    if _get(row, "fiber_dimension") is None or _get(row, "only_known_symmetries") is None:
        return "no count"
    dim, sym = int(_get(row, "fiber_dimension")), int(_get(row, "symmetry_dimension"))
    pts, exp = _get(row, "fiber_points"), _get(row, "expected_fiber_points")
    return Outcome(dim == sym and pts == exp, f"fiber dim {sym}, {exp} points in the gauge",
                   f"fiber dim {dim}, {pts} points")


register(Conjecture(
    name="cnn-linear-fiber",
    statement=("A linear CNN with strides 1 and filter sizes k_1..k_L has, modulo the scalings, "
               "multinomial(sum(k_l - 1); k_1 - 1, ..., k_L - 1) points in a generic fiber."),
    source=_KMMT, computation="fiber", kind="theorem", check=_check_linear_fiber,
))
register(Conjecture(
    name="cnn-monomial-identifiable",
    statement=("A CNN with activation x^r (r >= 2) is identifiable up to rescaling the filters: the generic fiber "
               "has dimension L - 1 and meets the incoming gauge once."),
    source=_SMK, computation="fiber", kind="theorem", check=_check_monomial_fiber,
))
register(Conjecture(
    name="cnn-linear-stride-edd",
    statement=("A linear CNN with filters (k1, k2) and first stride k1 parameterizes the k2 x k1 matrices of rank "
               "one (end-to-end filter w2 (x) w1); its Frobenius ED degree is min(k1, k2)."),
    source=_KMMT + "; Eckart-Young", computation="edd", kind="theorem", check=_check_stride_edd,
))
register(Conjecture(
    name="attention-identifiability",
    statement=("For lightning self-attention with t >= 2 tokens the generic fiber is the orbit of GL(n) x C* "
               "(and the swap of V and K when d_out = n = 1): dimension 2nd - q(2d - q) + 1, q = min(n, d)."),
    source=_HMK, computation="fiber", kind="theorem", check=_check_attention,
))

__all__: list[str] = []
