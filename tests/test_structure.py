"""The declared architecture (``Model.structure``) is what the catalog's literature claims read.

A model declares what it is through one typed declaration of
``pipeline/models/structure.py``; a model that declares nothing gets no claim, never a wrong one.
The values checked: a linear network (3, 2, 3) parameterizes the 3 x 3 matrices of rank <= 2, of
dimension q (d0 + dL - q) = 2 (3 + 3 - 2) = 8 (Trager-Kohn-Bruna; Bruns-Vetter).
"""

import pandas as pd
import pytest

from neurovar.catalog import analysis
from neurovar.catalog.conjectures import REGISTRY, Outcome, evaluate
from neurovar.pipeline.models import MODELS, build_model
from neurovar.pipeline.models.mlp import MLP
from neurovar.pipeline.models.structure import Convolution1D, DenseLayered, LightningAttention


@pytest.mark.parametrize("spec, declared", [
    ({"model": "mlp", "widths": [3, 2, 1], "activation": "x^2", "bias": True}, DenseLayered((3, 2, 1), "x^2", True)),
    ({"model": "linear", "widths": [3, 2, 3]}, DenseLayered((3, 2, 3), "x^1", False)),
    ({"model": "cnn", "filters": [3, 2], "strides": [2, 1]}, Convolution1D((3, 2), (2, 1), "x^1", False)),
    ({"model": "attention", "d": 2, "d_out": 1, "n": 2, "t": 3, "layers": 2}, LightningAttention(2, 1, 2, 3, 2)),
    ({"model": "resnet", "widths": [2, 2], "blocks": 1}, None),  # no architecture the claims are about
])
def test_each_model_declares_its_architecture_with_its_sizes(spec, declared):
    m = build_model(spec)
    assert m.structure() == declared
    kinds = ("dense_layered", "convolutional", "lightning_attention")
    assert [m.declares(k) is not None for k in kinds] == [declared is not None and declared.kind == k for k in kinds]
    if declared is not None:
        assert m.declares(type(declared)) == declared == analysis.declares({**spec, **m.record()}, declared.kind)


def test_a_model_that_declares_nothing_gets_no_claim(monkeypatch):
    row = {"model": "linear", "widths": [3, 2, 3], "bias": False, "dimension": 8, "status": "ok"}
    claim = REGISTRY["linear-rank-variety"]
    res = claim.check(row)
    assert isinstance(res, Outcome) and res.holds and res.expected == "dim 8 (q = 2)"
    assert claim.check({**row, "dimension": 9}).holds is False  # the claim can fail

    class Undeclared(MODELS["linear"][1]):
        def structure(self):
            return None

    monkeypatch.setitem(MODELS, "linear", (MODELS["linear"][0], Undeclared))
    analysis._build.cache_clear()
    try:
        assert claim.check(row) == "model linear is not a dense layered network"
        v = evaluate(claim, pd.DataFrame([row]))
        assert v.counts["not_applicable"] == 1 and v.counts["supports"] == v.counts["violates"] == 0
    finally:
        analysis._build.cache_clear()


def test_declarations_are_read_from_the_row_not_the_name():
    # the same model name with other sizes: the declaration carries the row's sizes
    assert analysis.declares({"model": "mlp", "widths": [4, 5, 1]}, DenseLayered).widths == (4, 5, 1)
    assert analysis.declares({"model": "mlp", "widths": [0, 1]}, DenseLayered) is None  # an invalid row
    assert issubclass(MODELS["mlp"][1], MLP)
