"""Quadrature over located pieces, with an error bound from two Gauss-Legendre orders.

The caller locates the integrand's mass (a density's mean and scale, the peak of
an exp(polynomial), the kinks of |.|); `pieces` turns that into breakpoints and
`integrate` sums a Gauss-Legendre rule over each finite piece at two orders,
whose difference is the piece's error. Beyond the outermost pieces the integrand
must have died out; where it has not, the tail is done by tanh-sinh after a
check that it decays at all (a divergent integral has no value to compare).
"""

from __future__ import annotations

from collections.abc import Callable

import mpmath
from mpmath.calculus.quadrature import GaussLegendre

SCALE_POINTS = (2, 5, 9, 14)  # piece boundaries, in standard deviations from the mean


class NotEvaluable(Exception):
    """The expression has no value the sampler can compute (unbound symbol, unsupported notion)."""


class Undefined(Exception):
    """The expression is undefined at this point (log 0, a density with sigma <= 0, a definition's
    argument outside its parameter's domain): the point says nothing."""


_LEGENDRE = GaussLegendre(mpmath.mp)


def pieces(centres, kinks) -> list:
    """Breakpoints from -inf to inf: each centre +- a ladder of its scales, and every kink."""
    points = set(kinks)
    for mu, sigma in centres:
        points.add(mu)
        for k in SCALE_POINTS:
            points.update((mu - k * sigma, mu + k * sigma))
    return [-mpmath.inf, *sorted(points), mpmath.inf]


def legendre(g: Callable, a, b, level: int):
    """(sum, largest |integrand|) of the Gauss-Legendre rule of `level` (3 * 2**(level-1) nodes) on [a, b]."""
    nodes = _LEGENDRE.get_nodes(a, b, level, mpmath.mp.prec)
    values = [g(x) for x, _ in nodes]
    return mpmath.fdot((w for _, w in nodes), values), max(abs(v) for v in values)


def integrate(g: Callable, points: list, level: int):
    """(value, error bound) of the integral of g over the pieces between `points` (ends may be infinite)."""
    finite = [p for p in points if mpmath.isfinite(p)]
    total, error, peak = mpmath.mpf(0), mpmath.mpf(0), mpmath.mpf(0)
    try:
        for a, b in zip(finite, finite[1:], strict=False):
            if a == b:
                continue
            coarse, fine = (legendre(g, a, b, k) for k in (level, level + 1))
            total += fine[0]
            error += abs(fine[0] - coarse[0])
            peak = max(peak, coarse[1], fine[1])
        for end, far in ((finite[0], points[0]), (finite[-1], points[-1])):
            if mpmath.isfinite(far):
                continue
            edge = abs(g(end))
            width = finite[-1] - finite[0] if len(finite) > 1 else mpmath.mpf(1)
            if edge <= mpmath.eps * peak * mpmath.mpf(10) ** -5:
                error += edge * width  # a Gaussian tail: far below what is resolved
                continue
            probe = end + (1 if far > 0 else -1) * 10 * (1 + width)
            if abs(g(probe)) > mpmath.eps * (1 + peak):
                raise NotEvaluable("the integral may not converge (the integrand does not decay)")
            tail, tail_error = mpmath.quad(g, [end, far] if far > 0 else [far, end], error=True)
            total += tail
            error += abs(tail_error) + mpmath.eps * abs(tail)
    except (ZeroDivisionError, ValueError) as exc:
        raise Undefined(f"the integrand is undefined somewhere: {exc}") from None
    return total, error
