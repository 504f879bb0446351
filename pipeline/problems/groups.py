"""The finite symmetry group of a model, as the engine's block group on the free parameters of a gauge.

A model declares the layout of its finite group (:attr:`Symmetries.blocks
<pipeline.algebra.gauge.Symmetries>`): factors ``S_m wr S_k`` permuting blocks
of parameters (a network's neurons) and parts inside each block. In a gauge
slice the group acts on the free parameters by permuting coordinates when

* the gauge has no residual group (``residual_order == 1``: no roots of unity
  to bring images back into the slice),
* the declared factors make up the whole finite group that contributes fiber
  points (the product of their orders is the gauge's ``permutation_order``),
* every part of every block of a factor has the same fixed coordinates, at the
  same places and with the same values (the slice is preserved).

Then :func:`declared_block_group` returns the
:class:`~pipeline.numeric.symmetry.BlockPermutationGroup` (orbits counted
without enumerating the group, ``orbits x group_order = fiber_points``);
otherwise None and the caller takes the slower path (the declared generators
enumerated as a group action, or no group).

Example
-------
>>> from neurovar.pipeline.models import build_model
>>> from neurovar.pipeline.algebra.gauge import choose_gauge
>>> m = build_model({"model": "mlp", "widths": [3, 4, 1], "activation": "x^3"})
>>> g = choose_gauge(m)
>>> G, weights = declared_block_group(m, g, g.free(m.num_params))
>>> G.order, G.blocks[0].shape, weights          # 4 neurons: 2 free incoming weights and 1 output weight
(24, (4, 3), (1, 1, -3))
>>> deep = build_model({"model": "mlp", "widths": [2, 2, 2, 1], "activation": "x^2"})
>>> declared_block_group(deep, choose_gauge(deep), choose_gauge(deep).free(deep.num_params))[0] is None
True
"""

from __future__ import annotations

from math import prod

import numpy as np

from ..numeric.symmetry import BlockPermutationGroup


def declared_block_group(model, gauge, free) -> tuple[BlockPermutationGroup | None, tuple[int, ...] | None]:
    """``(group, weights)``: the declared finite group on the free coordinates, or ``(None, None)`` (see module).

    ``weights`` are the declared scaling weights of the free coordinates of one part (None when not
    declared, or when there are several factors).
    """
    factors = tuple(model.symmetries().blocks)
    if not factors or gauge.residual_order != 1 or prod(f.order for f in factors) != gauge.permutation_order:
        return None, None
    pos = {int(p): i for i, p in enumerate(free)}
    arrays, shared, weights = [], [], None
    for f in factors:
        cols = _free_columns([part for block in f.blocks for part in block], gauge.fixed)
        scols = _free_columns(list(f.shared or [()] * len(f.blocks)), gauge.fixed)
        if not cols or scols is None:
            return None, None
        arrays.append(np.array([[[pos[part[c]] for c in cols] for part in block] for block in f.blocks],
                               dtype=np.int64))
        shared.append(np.array([[pos[s[c]] for c in scols] for s in (f.shared or [()] * len(f.blocks))],
                               dtype=np.int64).reshape(len(f.blocks), len(scols)))
        if len(factors) == 1 and f.weights is not None and not f.shared:
            weights = tuple(int(f.weights[c]) for c in cols)
    return BlockPermutationGroup(len(free), arrays, shared=shared), weights


def _free_columns(rows, fixed) -> list[int] | None:
    """The positions not fixed in ``rows`` (index tuples of one length), or None when the rows are fixed
    at different positions or to different values (the group would leave the slice)."""
    pattern = [(c, fixed[q]) for c, q in enumerate(rows[0]) if q in fixed]
    if any([(c, fixed[q]) for c, q in enumerate(r) if q in fixed] != pattern for r in rows):
        return None
    return [c for c in range(len(rows[0])) if rows[0][c] not in fixed]


__all__ = ["declared_block_group"]
