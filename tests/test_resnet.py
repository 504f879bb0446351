"""The polynomial residual network ``x -> x + W2 s(W1 x)`` per block: every computation, flag, axis, column."""

from __future__ import annotations

import json

import pytest

import neurovar
from neurovar.pipeline.cells import make_cell, run_cell
from neurovar.pipeline.grid import GridSpec


def resnet(d, m, blocks, act="x^2", bias=False):
    return neurovar.models.ResNet(widths=(d, m), blocks=blocks, activation=act, bias=bias)


@pytest.mark.parametrize("d,m,blocks,r", [(2, 1, 1, 2), (3, 1, 1, 3), (2, 1, 2, 2), (2, 2, 2, 2), (3, 2, 1, 2),
                                          (2, 1, 3, 2), (3, 1, 2, 3)])
def test_dimension_is_parameters_minus_the_neuron_scalings(d, m, blocks, r):
    """``dim M = B (2 m d - m)`` for ``s = x^r`` (``r >= 2``), no bias, while below ``dim V``.

    Derivation. One block with one neuron, ``f(x) = x + w2 (w1 . x)^r``: ``f - x`` runs
    over ``w2 (x) (w1 . x)^r``, the affine cone over the Segre--Veronese variety
    ``P^(d-1) x v_r(P^(d-1))``, of dimension ``(d - 1) + (d - 1) + 1 = 2d - 1``: the
    ``2d`` parameters minus the one scaling ``(t w1, t^-r w2)``. With ``m`` neurons
    the degree-``r`` part is a sum of ``m`` such points, whose decomposition is unique
    up to order for these small ``m`` (a generic 2-plane of ``S^2 C^2`` meets the conic
    of squares in 2 points; for ``m = 1`` there is nothing to choose). With ``B`` blocks
    the lowest-degree non-linear part of ``f - x`` (degree ``r``) is the sum over all
    blocks of their degree-``r`` terms, and the block of each term is read off the
    higher-degree parts (block ``b`` feeds the terms of blocks after it, never before),
    so generic fibers are exactly the ``B m`` scalings and the dimension is
    ``B (2 m d) - B m``, capped by ``dim V = d binom(d + r^B, r^B)``.
    """
    M = resnet(d, m, blocks, f"x^{r}")
    expected = min(blocks * (2 * m * d - m), M.ambient_dimension)
    r_ = neurovar.dimension(M)
    assert r_["dimension"] == expected == M.expected_dimension
    assert r_["num_params"] == blocks * 2 * m * d and r_["symmetry_dimension"] == blocks * m
    assert r_["float_rank_agrees"] is True


def test_linear_blocks_fill_the_matrices():
    # (I + a1 b1^T)(I + a2 b2^T) with rank-one updates on C^2: products of two such are all of GL(2),
    # so the image is dense in the 4-dimensional space of linear maps
    assert neurovar.dimension(resnet(2, 1, 2, "x^1"))["dimension"] == 4


def test_fiber_is_the_permutations_modulo_scalings():
    # incoming gauge W1[j, 0] = 1: the fiber in the slice is the (m!)^B neuron permutations
    r = neurovar.fiber(resnet(2, 2, 1, "x^2"))
    assert (r["fiber_dimension"], r["symmetry_dimension"]) == (2, 2)
    assert r["fiber_points"] == r["expected_fiber_points"] == 2 and r["only_known_symmetries"] is True
    r = neurovar.fiber(resnet(2, 1, 2, "x^2"))
    assert r["fiber_points"] == 1 and r["primes_agree"] is True


def test_edd_by_the_parametrization():
    r = neurovar.edd(resnet(2, 1, 1, "x^2"))
    assert r["method"] == "exact-parametric-modp" and r["fiber_size"] == 1
    assert r["edd"] == r["positive_loss_points"] and r["edd"] >= 1 and r["primes_agree"] is True


@pytest.mark.parametrize("computation,extra", [("dimension", []), ("fiber", []), ("edd", [])])
def test_cli(cli, computation, extra):
    p = cli("compute", computation, "--model", "resnet", "--widths", "2,1", "--blocks", "1", "--activation", "x^2",
            *extra, "--json")
    assert p.returncode == 0, p.stderr
    rec = json.loads(p.stdout)
    assert rec["status"] == "ok" and rec["model"] == "resnet" and rec["blocks"] == 1
    if computation == "dimension":
        assert rec["dimension"] == 3
    if computation == "fiber":
        assert rec["fiber_points"] == 1


@pytest.mark.parametrize("args,flag", [
    (["--widths", "2,1,3"], "--widths"),
    (["--widths", "2,0"], "--widths"),
    (["--widths", "2,1", "--blocks", "0"], "--blocks"),
    (["--widths", "2,1", "--activation", "exp(x)"], "--activation"),
])
def test_bad_input_exits_2_naming_the_flag(cli, args, flag):
    p = cli("compute", "dimension", "--model", "resnet", *args, "--json")
    assert p.returncode == 2 and flag in p.stderr and p.stdout == "" and "Traceback" not in p.stderr


def test_grid_axes_and_catalog_columns(tmp_path):
    from neurovar.catalog import store

    spec = GridSpec.from_mapping({"name": "res", "computations": ["dimension"], "model": "resnet",
                                  "axes": {"widths": [[2, 1], [3, 1]], "blocks": [1, 2], "activation": ["x^2"]}})
    cells = spec.cells()
    assert len(cells) == 4
    store.write_records([run_cell(c) for c in cells], "dimension", tmp_path)
    df = store.load("dimension", tmp_path)
    got = {(tuple(w), int(b)): int(dim) for w, b, dim in zip(df["widths"], df["blocks"], df["dimension"])}
    assert got == {((2, 1), 1): 3, ((2, 1), 2): 6, ((3, 1), 1): 5, ((3, 1), 2): 10}
    rec = run_cell(make_cell("dimension", {"model": "resnet", "widths": [2, 1], "blocks": 1}))
    assert rec["status"] == "ok" and rec["depth"] == 1
