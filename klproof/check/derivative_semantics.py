"""The sampler's own meaning of a derivative: finite differences of the body's value, never SymPy's diff.

d^n/dt^n f at t = a is computed from values of f near a, each from the
independent semantics (klproof.check.semantics), so a wrong differentiation rule
or a wrong Leibniz step is caught instead of shared:

- a body computed exactly (no quadrature inside): mpmath's central difference
  with a step far below the working precision, evaluated at (n + 1) times the
  digits (mpmath.diff), so the difference loses nothing that matters; where the
  body has a kink (|.|, sign, Max, Min) the one-sided derivatives must agree,
  else the point is undefined (no derivative there);
- a body computed by quadrature (d/dmu E[...]): central differences at two
  steps and one Richardson extrapolation; the quadrature's error bound,
  amplified by the stencil's weights, and ten times the extrapolation's change
  become the value's error bound, so that a witness stands far above both. The
  bound is pessimistic (errors at nearby points are correlated), so a true step
  through such a derivative is rarely confirmed, but a false one is refuted.
  The step differs when the sampler looks again (`quad_level`).
"""

from __future__ import annotations

import mpmath
import sympy as sp

from klproof.vocabulary.derivatives import DerivativeAt

from klproof.check.quadrature import NotEvaluable, Undefined

MAX_PRECISION_BITS = 20_000
MAX_GROWTH = 64  # e.g. three nested first derivatives (8), or two of order 6 (49)
KINKS = (sp.Abs, sp.sign, sp.Max, sp.Min, sp.Heaviside, sp.floor, sp.ceiling, sp.Piecewise)


def compile_derivative(evaluator, e):
    """A closure env -> value of e = DerivativeAt(f, t, point, n) (see klproof.check.semantics.Evaluator)."""
    f, t, point, order = e.args
    n = int(order)
    if _growth(e) > MAX_GROWTH:
        raise NotEvaluable("derivatives nested too deeply to evaluate")
    body, at = evaluator.compile(f), evaluator.compile(point)
    kinked = f.has(*KINKS)
    trace = evaluator.trace

    def value(env):
        trace.spend(2 * n + 1)  # nested derivatives multiply their evaluations: bounded like nested sums
        if (mpmath.mp.prec + 20) * (n + 1) > MAX_PRECISION_BITS:  # mpmath.diff's working precision: each
            # nested derivative works at (n + 1) times the digits of the one outside it
            raise NotEvaluable("derivatives nested too deeply to evaluate")
        x0 = _real(at(env))
        if t.is_positive and not x0 > 0 or t.is_negative and not x0 < 0:
            raise Undefined("a derivative at a point outside its variable's domain")

        def g(v):
            return body({**env, t: v})

        was, trace.quadrature = trace.quadrature, False
        try:
            g(x0)  # does the body need quadrature? (its value is memoised by the quadrature cache)
        finally:
            needs_quadrature, trace.quadrature = trace.quadrature, was or trace.quadrature
        if needs_quadrature:
            return _extrapolated(evaluator, g, x0, n, t)
        derivative = mpmath.diff(g, x0, n)
        if kinked:
            left, right = (mpmath.diff(g, x0, n, direction=d) for d in (-1, 1))
            tolerance = mpmath.mpf(10) ** (-mpmath.mp.dps // 2) * (1 + abs(left) + abs(right))
            if abs(left - right) > tolerance:
                raise Undefined("the derivative does not exist here (a kink)")
        return derivative
    return value


def derivative_points(evaluator, f, env) -> dict:
    """{variable: its point's value} for the derivatives inside f, where the point has a value here: the
    integrand of ∫ d/dmu N(x; mu, 1) dx has its mass near the point, which locates the quadrature."""
    found = {}
    for d in f.atoms(DerivativeAt):
        try:
            found[d.args[1]] = _real(evaluator.compile(d.args[2])(env))
        except (NotEvaluable, Undefined, KeyError):
            continue
    return found


def _growth(e) -> int:
    """How many times the working digits (and the evaluations) multiply through nested derivatives in e."""
    inner = max((_growth(a) for a in e.args), default=1)
    return inner * (int(e.args[3]) + 1) if isinstance(e, DerivativeAt) else inner


def _real(value):
    if isinstance(value, mpmath.mpc):
        if value.imag != 0:
            raise Undefined("a derivative at a complex point")
        return value.real
    return value


def _extrapolated(evaluator, g, x0, n: int, t):
    """A Richardson-extrapolated central difference of g at x0, with its error bound added to the trace."""
    trace = evaluator.trace
    trace.differenced = True
    # the sampler's second look uses another step, so that no pattern of one step size is seen twice
    h = mpmath.ldexp(1, -6 if evaluator.quad_level >= 4 else -5) * max(1, abs(x0))
    if t.is_positive or t.is_negative:  # the stencil x0 +- n h stays inside the variable's domain
        h = min(h, abs(x0) / (2 * n))
    before = trace.quadrature_error
    coarse, fine = (_central(g, x0, n, h / 2**k) for k in range(2))
    noise = trace.quadrature_error - before  # every quadrature's bound in the stencils
    extrapolated = (4 * fine - coarse) / 3  # the h^2 term of the central difference's error cancels
    # each value's error is divided by (h/2)^n at worst; the extrapolation's own error is below its change
    amplification = 2 * mpmath.mpf(2) ** n / (h / 2) ** n
    trace.quadrature_error = before + noise * amplification + 10 * abs(extrapolated - fine)
    return extrapolated


def _central(g, x0, n: int, h):
    values = [g(x0 + k * h) for k in range(-n, n + 1, 2)]
    return mpmath.difference(values, n) / (2 * h) ** n
