"""Small statistics shared by the Monte Carlo computations (Voronoi cells, bias).

Example
-------
>>> lo, hi = wilson_interval(0, 10)
>>> lo, round(hi, 4)
(0.0, 0.2775)
>>> lo, hi = wilson_interval(50, 100)
>>> round(lo, 4), round(hi, 4)
(0.4038, 0.5962)
"""

from __future__ import annotations

from math import sqrt

#: the two-sided 95 % normal quantile
Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``successes / n``.

    Unlike the normal approximation it stays inside ``[0, 1]`` and is not the
    empty interval at ``0`` or ``n`` successes: ``0`` of ``n`` gives
    ``[0, z^2 / (n + z^2)]``.

    Raises
    ------
    ValueError
        When ``n < 1`` or ``successes`` is not in ``0..n``.
    """
    if n < 1:
        raise ValueError(f"need at least one sample, got n={n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must lie in 0..{n}, got {successes}")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


__all__ = ["wilson_interval", "Z95"]
