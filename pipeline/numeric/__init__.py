"""Numerical algebraic geometry: vectorised homotopy continuation, monodromy, certification.

A floating-point second opinion to the exact (Gröbner basis) counts, and a way
to reach sizes where Gröbner bases blow up. Every result that comes from here
is a numerical method and says so (``method: numerical``); solution counts are
backed by Krawczyk certificates of pairwise distinct solutions.

* :class:`System` -- polynomial system ``F(x; p)`` compiled for batched values
  and Jacobians (numpy complex128).
* :func:`track` -- parameter homotopy ``p0 -> p1`` (RK4 predictor, Newton
  corrector, adaptive steps per path, gamma trick, Cauchy endgame), endpoints
  classified ``regular / singular / at_infinity / failed``.
* :func:`monodromy_solve` -- all solutions over a generic parameter from one
  start pair, by loops through random complex parameters.
* :func:`certify` -- Krawczyk certification with python-flint ``acb`` balls.
* :mod:`pipeline.numeric.families` -- ED Lagrange systems and Waring fibers
  with start-pair samplers.

Example
-------
>>> from neurovar.pipeline.numeric import ed_lagrange_family, monodromy_solve
>>> fam = ed_lagrange_family("x^2 + y^2 - 1", ["x", "y"])
>>> R = monodromy_solve(fam.system, start_pair=fam.start_pair, real_parameters=[3, 1])
>>> R.count, R.certified, R.real_count
(2, 2, 2)
"""

from .certify import CertificationResult, certify
from .families import (Family, ed_degree_generic_hypersurface, ed_lagrange_family, point_on_hypersurface,
                       random_complex_hypersurface, random_hypersurface, waring_family)
from .monodromy import MonodromyResult, SolutionSet, monodromy_solve
from .system import System
from .tracker import TrackerOptions, TrackResult, newton, track

__all__ = [
    "System", "track", "TrackResult", "TrackerOptions", "newton", "monodromy_solve", "MonodromyResult",
    "SolutionSet", "certify", "CertificationResult", "Family", "ed_lagrange_family", "waring_family",
    "ed_degree_generic_hypersurface", "random_hypersurface", "random_complex_hypersurface", "point_on_hypersurface",
]
