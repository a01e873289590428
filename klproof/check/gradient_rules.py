"""Rewrites for derivatives: evaluate them, move them under ∫ and Σ (Leibniz), and the two gradient
estimators of E_{N(z; m(θ), s(θ))}[f]: the reparameterisation (pathwise) and the score-function form.

Moving a derivative under an integral over the real line needs dominated
convergence. What is accepted (and nothing else), for the integrand g(x, θ)
with every θ-coefficient smooth near the point (built from θ by +, ×, integer
powers, exp, sin, cos, and logs and real powers of provably positive terms):
each term of g is c(θ) · x^k · exp(Q(x, θ)) · (sines and cosines of polynomials
in x), where Q is quadratic in x with a provably negative x² coefficient. Then
every θ-derivative of g is a polynomial in x times the same Gaussian factor,
bounded near the point by C (1 + |x|^K) exp(-a x² + b|x|), which is integrable.
Over finite limits that do not depend on θ, g must be smooth in x and θ on the
closed rectangle. A finite sum always commutes with a derivative.

A rewrite whose side condition cannot be shown leaves the expression alone and
records which condition it was (`recording`), so the step's verdict says why.
"""

from __future__ import annotations

from contextvars import ContextVar

import sympy as sp
from sympy.core.function import Application

from klproof import vocabulary as C
from klproof.vocabulary.binders import rename_apart, subst

# Functions whose derivatives SymPy computes everywhere they are defined (no kinks, no branches)
_SMOOTH_FUNCTIONS = (sp.exp, sp.sin, sp.cos, sp.sinh, sp.cosh, sp.tanh, sp.atan, sp.erf)
_DIFFERENTIABLE = (*_SMOOTH_FUNCTIONS, sp.log, sp.tan, sp.erfc, sp.gamma, sp.loggamma, sp.asin, sp.acos)
_TRIG = (sp.sin, sp.cos)
_BINDERS = (sp.Integral, sp.Sum, sp.Product)

# Condition keys: the index of the condition in catalog.CONDITIONS[rule] that could not be shown.
LEIBNIZ_LIMITS, LEIBNIZ_DOMINATED, LEIBNIZ_OTHER = 0, 1, 2
PATHWISE_SCALE, PATHWISE_DOMINATED = 0, 1
SCORE_DOMINATED = 0

_BLOCKED: ContextVar[set | None] = ContextVar("klproof_blocked_conditions", default=None)


class recording:  # lower case: used as `with recording() as blocked:`, like a function
    """Collect (rule, condition index) for every rewrite that a side condition stopped, inside the block.

    A class, not a @contextmanager generator: leaving the block on a MemoryError (the worker's memory cap)
    must not resume a generator, which needs memory of its own and left the worker thrashing until its
    time limit instead of reporting the memory limit."""

    def __enter__(self) -> set:
        self.blocked: set = set()
        self.token = _BLOCKED.set(self.blocked)
        return self.blocked

    def __exit__(self, *exc) -> None:
        _BLOCKED.reset(self.token)


def _blocked(rule: str, condition: int) -> None:
    found = _BLOCKED.get()
    if found is not None:
        found.add((rule, condition))


# -- side conditions ---------------------------------------------------------------------------

def smooth(e: sp.Expr, variables: set) -> bool:
    """e is C^∞ in `variables` on their (open) domains: provably, from its shape alone."""
    if not e.has(*variables):
        return e.is_finite is True or e.is_extended_real is True and e.is_finite is not False
    if e in variables:
        return True
    if e.is_Add or e.is_Mul:
        return all(smooth(a, variables) for a in e.args)
    if e.is_Pow:
        base, exponent = e.args
        if exponent.is_Integer and not exponent.has(*variables):
            return smooth(base, variables) and (exponent >= 0 or base.is_nonzero is True)
        return smooth(base, variables) and smooth(exponent, variables) and base.is_positive is True
    if isinstance(e, _SMOOTH_FUNCTIONS):
        return smooth(e.args[0], variables)
    if isinstance(e, sp.log):
        return e.args[0].is_positive is True and smooth(e.args[0], variables)
    return False


def _polynomial_coefficients(e: sp.Expr, x) -> list | None:
    try:
        return sp.Poly(e, x).all_coeffs()
    except (sp.PolynomialError, sp.GeneratorsNeeded):
        return None


def gaussian_dominated(g: sp.Expr, x, t) -> bool:
    """Every term of g is smooth(t) · polynomial(x) · exp(quadratic(x), x² coefficient < 0) · trig(polynomial(x))."""
    g = g.replace(lambda n: isinstance(n, C.Normal), lambda n: n.formula())
    if g.has(*_BINDERS, C.DerivativeAt, *C.VOCABULARY, C.Defined):
        return False
    for term in sp.Add.make_args(sp.expand(g)):
        coeff, dep = term.as_independent(x, as_Add=False)
        if not smooth(coeff, {t}):
            return False
        exponent, rest = sp.Integer(0), sp.Integer(1)
        for factor in sp.Mul.make_args(sp.powsimp(dep, combine="exp")):
            if isinstance(factor, sp.exp):
                exponent += factor.args[0]
            elif isinstance(factor, _TRIG):
                inner = _polynomial_coefficients(factor.args[0], x)
                if inner is None or not all(smooth(c, {t}) for c in inner):
                    return False
            else:
                rest *= factor
        quadratic = _polynomial_coefficients(sp.expand(exponent), x)
        polynomial = _polynomial_coefficients(rest, x)
        if quadratic is None or polynomial is None or len(quadratic) != 3:
            return False
        if (-quadratic[0]).is_positive is not True:
            return False
        if not all(smooth(c, {t}) for c in (*quadratic, *polynomial)):
            return False
    return True


# -- the rewrites ------------------------------------------------------------------------------

def _elementary(body: sp.Expr) -> bool:
    """No binder, no vocabulary notion, and only functions SymPy differentiates without a kink."""
    if body.has(*_BINDERS, C.DerivativeAt, *C.VOCABULARY, C.Defined):
        return False
    return all(isinstance(f, _DIFFERENTIABLE) for f in body.atoms(Application))  # Max, Min are no Function


def _inside(point: sp.Expr, var) -> bool:
    """The point lies in the open set the variable ranges over (a rewrite may have moved the point)."""
    return all(getattr(point, f"is_{key}") is True for key in ("real", "positive", "negative", "nonzero")
               if getattr(var, f"is_{key}") is True)


def differentiation(e: sp.Expr) -> sp.Expr:
    """d^n/dt^n f at t = a for f without binders: SymPy's diff, then t = a (nothing is bound in it)."""

    def evaluate(n: C.DerivativeAt):
        if not _elementary(n.body) or not _inside(n.point, n.variable):
            return n
        return sp.diff(n.body, n.variable, n.order).xreplace({n.variable: n.point})

    return e.replace(lambda n: isinstance(n, C.DerivativeAt), evaluate)


def leibniz(e: sp.Expr) -> sp.Expr:
    """d/dt ∫ g dx = ∫ d/dt g dx and d/dt Σ_j g = Σ_j d/dt g, under the conditions in the module docstring."""

    def move(n: C.DerivativeAt):
        body, t = n.body, n.variable
        if isinstance(body, sp.Sum) and len(body.limits) == 1 and len(body.limits[0]) == 3:
            _, lo, hi = body.limits[0]
            if lo.is_finite and hi.is_finite and not (lo.has(t) or hi.has(t)):
                inner = rename_apart(body)
                return sp.Sum(C.DerivativeAt(inner.function, t, n.point, n.args[3]), *inner.limits)
            _blocked("leibniz", LEIBNIZ_LIMITS)
            return n
        if not isinstance(body, sp.Integral):
            if body.has(C.LatentSum):
                _blocked("leibniz", LEIBNIZ_OTHER)
            return n
        if len(body.limits) != 1 or len(body.limits[0]) != 3:
            _blocked("leibniz", LEIBNIZ_OTHER)
            return n
        inner = rename_apart(body)
        x, lo, hi = inner.limits[0]
        if lo.has(t) or hi.has(t):
            _blocked("leibniz", LEIBNIZ_LIMITS)
            return n
        if (lo, hi) == (-sp.oo, sp.oo):
            ok = gaussian_dominated(inner.function, x, t)
        elif lo.is_finite and hi.is_finite:
            plain = sp.Dummy(x.name, real=True)  # the closed rectangle: no sign from the open range
            ok = smooth(inner.function.xreplace({x: plain}), {plain, t}) and not inner.function.has(*_BINDERS)
        else:
            ok = False
        if not ok:
            _blocked("leibniz", LEIBNIZ_DOMINATED)
            return n
        return sp.Integral(C.DerivativeAt(inner.function, t, n.point, n.args[3]), *inner.limits)

    return e.replace(lambda n: isinstance(n, C.DerivativeAt), move)


def _gaussian_expectation(n: C.DerivativeAt):
    """(f, z, m, s) when n is d/dt E_{z ~ N(m, s)}[f] (first order), with its binders renamed apart."""
    if n.order != 1 or not isinstance(n.body, C.Expectation):
        return None
    inner = rename_apart(n.body)
    f, density, z = inner.args
    if not isinstance(density, C.Normal) or density.args[0] != z or density.args[1].has(z) or density.args[2].has(z):
        return None
    return f, z, density.args[1], density.args[2]


def _standard_name(e: sp.Expr) -> str:
    """The name of the claim's own standard-normal variable (E over N(eps, 0, 1)), so both sides match."""
    names = sorted(x.args[2].name for x in e.atoms(C.Expectation)
                   if isinstance(x.args[1], C.Normal) and x.args[1].args[1:] == (0, 1))
    return names[0] if names else "eps"


def reparameterisation(e: sp.Expr) -> sp.Expr:
    """d/dt E_{z ~ N(m(t), s(t))}[f(z, t)] = E_{eps ~ N(0, 1)}[d/dt f(m(t) + s(t) eps, t)]."""
    name = _standard_name(e)

    def rewrite(n: C.DerivativeAt):
        found = _gaussian_expectation(n)
        if found is None:
            return n
        f, z, m, s = found
        t = n.variable
        if not (s.is_positive and m.is_real and smooth(m, {t}) and smooth(s, {t})):
            _blocked("reparameterisation_gradient", PATHWISE_SCALE)
            return n
        eps = sp.Dummy(name, real=True)
        moved = subst(f, {z: m + s * eps})
        if not gaussian_dominated(C.Normal(eps, 0, 1) * moved, eps, t):
            _blocked("reparameterisation_gradient", PATHWISE_DOMINATED)
            return n
        return C.Expectation(C.DerivativeAt(moved, t, n.point, n.args[3]), C.Normal(eps, 0, 1), eps)

    return e.replace(lambda n: isinstance(n, C.DerivativeAt), rewrite)


def score_function(e: sp.Expr) -> sp.Expr:
    """d/dt E_{q_t}[f] = E_{q_t}[f d/dt log q_t] + E_{q_t}[d/dt f] for q_t = N(z; m(t), s(t)).

    The second term is there whenever f depends on t: the estimator without it is wrong."""

    def rewrite(n: C.DerivativeAt):
        found = _gaussian_expectation(n)
        if found is None:
            return n
        f, z, m, s = found
        t, point = n.variable, n.point
        q = C.Normal(z, m, s)
        if not (s.is_positive and m.is_real and gaussian_dominated(q * f, z, t)):
            _blocked("score_function", SCORE_DOMINATED)
            return n
        at_point = C.Normal(z, subst(m, {t: point}), subst(s, {t: point}))
        score = C.DerivativeAt(sp.log(q), t, point, n.args[3])
        total = C.Expectation(subst(f, {t: point}) * score, at_point, z)
        if f.has(t):
            total += C.Expectation(C.DerivativeAt(f, t, point, n.args[3]), at_point, z)
        return total

    return e.replace(lambda n: isinstance(n, C.DerivativeAt), rewrite)
