"""Problems: the systems, group actions and extra witnesses that a model's declarations give the engine.

The numerical engine (:mod:`pipeline.numeric`) receives systems, groups and a
Dask client and knows nothing of models. This layer builds, from what a model
declares (:class:`~pipeline.models.base.Model`: the coefficient map, the gauges,
the finite symmetry group's generators and order, and its parameter layout
:class:`~pipeline.algebra.gauge.SymmetryBlocks`):

* :mod:`~pipeline.problems.fiber` -- the network-fiber system (coefficient
  identities in a gauge slice, squared up when over-determined) and the
  certified count of its points;
* :mod:`~pipeline.problems.groups` -- the declared finite group as a block
  group on the free parameters (orbits counted without enumerating it);
* :mod:`~pipeline.problems.crossings` -- the trace test's extra witnesses from
  the chart crossings of the traced sums.

A model that declares less gets a correct, slower path: its generators
enumerated as a group action, or no group, and the trace test's own loops for
its extra witnesses. A fiber record's ``fast_paths`` says which applied.
"""
