"""Bound variables: the one place that knows which notation binds what.

A variable bound by ∫, Σ, ∏, E, KL, a sum over latent values, a diagonal
Gaussian's index or a derivative (d/dt f at a point: vocabulary/derivatives.py,
where the point stays free) belongs to its binder, never to the file: it is a `Dummy`
carrying the domain of its range (real for ∫ over ℝ, integer for Σ), so a
file-level `x = "positive"` never reaches the x of ∫ dx over ℝ.

Every expression the readers build and every rewrite's result is put in
*canonical* form: the variable of a binder at nesting depth d becomes
`Dummy(author_name, dummy_index=BOUND_BASE + d, **domain)`. Two consequences:

- alpha-equivalent terms written with the same names are equal objects
  (∫ f(x) dx on both sides of a step cancel), and the cache key of a claim is
  stable across runs;
- a binder never shares its variable with an enclosing binder (depths differ),
  so replacing an enclosing variable never reaches into an inner scope.

`subst` is the only substitution that may go under a binder: it renames the
expression's binders apart (fresh dummies) before replacing, so nothing in the
replacement can be captured. `canonical` then restores the canonical names.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp
from sympy.concrete.expr_with_limits import ExprWithLimits

BOUND_BASE = 10**15  # far above SymPy's own Dummy counter, which starts below 10**7


def domain_of(var: sp.Symbol) -> dict:
    """The assumptions a variable was created with (its domain), as keyword arguments."""
    return dict(getattr(var, "_assumptions_orig", None) or {k: v for k, v in var.assumptions0.items()
                                                                if k in _DOMAIN_KEYS})


_DOMAIN_KEYS = {"real", "positive", "negative", "nonnegative", "nonpositive", "nonzero", "integer", "complex"}


def fresh(name: str, **domain) -> sp.Dummy:
    """A new bound variable, equal to nothing else."""
    return sp.Dummy(name, **domain)


def is_bound_symbol(s: sp.Basic) -> bool:
    return isinstance(s, sp.Dummy)


class Binder:
    """Mixin for vocabulary classes that bind a variable.

    `binds = (position of the variable, positions of the arguments in its scope)`;
    the other arguments are in the enclosing scope. `free_symbols` follows from it.
    """

    binds: tuple[int, tuple[int, ...]] = (0, ())
    index_range: tuple[int, int] | None = None  # positions of (a, b) when the variable is an index j = a..b

    args: tuple  # SymPy's arguments, set by the Function this is mixed into

    @property
    def free_symbols(self):
        var_at, scoped = self.binds
        args = self.args
        inner: set = set()
        outer: set = set()
        for i, arg in enumerate(args):
            if i == var_at:
                continue
            (inner if i in scoped else outer).update(arg.free_symbols)
        return (inner - {args[var_at]}) | outer


def _rebuild(e: sp.Basic, args: list) -> sp.Basic:
    if all(a is b for a, b in zip(args, e.args, strict=True)):
        return e
    return e.func(*args)


_INTEGER = {"integer": True}
_REAL = {"real": True}


def range_domain(base: dict, lo, hi) -> dict:
    """The domain of a variable ranging over [lo, hi]: `base` plus the sign the range implies."""
    domain = dict(base)
    if lo is None or hi is None:
        return domain
    for key, holds in (("positive", lambda: lo.is_positive), ("nonnegative", lambda: lo.is_nonnegative),
                       ("negative", lambda: hi.is_negative), ("nonpositive", lambda: hi.is_nonpositive)):
        if holds():
            domain[key] = True
            break
    return domain


def _limit_domain(e: ExprWithLimits, var, bounds) -> dict:
    """A limit's variable ranges over its bounds: integers for Σ and Π, reals for ∫."""
    if len(bounds) != 2:
        return domain_of(var)
    base = _REAL if isinstance(e, sp.Integral) else _INTEGER
    return range_domain(base, *bounds)


def _walk(e: sp.Basic, depth: int, env: dict, new_var: Callable[[sp.Symbol, int, dict], sp.Symbol]) -> sp.Basic:
    """e with every bound variable renamed by `new_var(old, depth, domain)`, its occurrences mapped through env.

    The domain of an index or integration variable is recomputed from its range, so that the same binder
    written by the LaTeX reader, the expression reader or a rewrite gets the same variable."""
    if isinstance(e, sp.Symbol):
        return env.get(e, e)
    if not e.args or isinstance(e, (sp.Lambda, sp.Number)) or type(e).__name__ == "DefinitionBody":
        return e  # a definition's body is closed apart from its parameters
    if isinstance(e, ExprWithLimits):
        # SymPy's first limit is the innermost: each limit's bounds see the variables of the limits after it
        env = dict(env)
        limits = []
        for limit in reversed(e.limits):
            var, *bounds = limit
            bounds = [_walk(b, depth, env, new_var) for b in bounds]
            depth += 1
            renamed = new_var(var, depth, _limit_domain(e, var, bounds))
            env[var] = renamed
            limits.append(sp.Tuple(renamed, *bounds))
        return e.func(_walk(e.function, depth, env, new_var), *reversed(limits))
    binds = getattr(type(e), "binds", None)
    if binds is not None and isinstance(e, Binder):
        var_at, scoped = binds
        var = e.args[var_at]
        rng = type(e).index_range
        domain = range_domain(_INTEGER, e.args[rng[0]], e.args[rng[1]]) if rng else domain_of(var)
        renamed = new_var(var, depth + 1, domain)
        inner = {**env, var: renamed}
        args = [renamed if i == var_at else _walk(a, depth + 1, inner, new_var) if i in scoped
                else _walk(a, depth, env, new_var) for i, a in enumerate(e.args)]
        return _rebuild(e, args)
    return _rebuild(e, [_walk(a, depth, env, new_var) for a in e.args])


def _canonical_var(var: sp.Symbol, depth: int, domain: dict) -> sp.Symbol:
    return sp.Dummy(var.name, dummy_index=BOUND_BASE + depth, **domain)


def _fresh_var(var: sp.Symbol, depth: int, domain: dict) -> sp.Symbol:
    return fresh(var.name, **domain)


def canonical(expr):
    """expr with every binder's variable named by its nesting depth (alpha-normal form).

    Only for a closed term (a whole claim): a free variable of `expr` must never be a canonical one."""
    if not isinstance(expr, sp.Basic):
        return expr
    return _walk(expr, 0, {}, _canonical_var)


def _anonymous_var(var: sp.Symbol, depth: int, domain: dict) -> sp.Symbol:
    return sp.Dummy("_", dummy_index=BOUND_BASE + depth, **domain)


def anonymous(expr):
    """canonical(expr) with the authors' names of bound variables erased (de Bruijn levels), so that
    terms equal up to the names of their bound variables (∫ f(x) dx and ∫ f(z) dz) are equal objects.

    Only where names carry no meaning: in an abstract probability a bound variable's name is the slot
    it fills (Σ_z P(z, X) and Σ_w P(w, X) are different marginals), so the caller must not erase them
    in expressions with probabilities."""
    if not isinstance(expr, sp.Basic):
        return expr
    return _walk(expr, 0, {}, _anonymous_var)


def rename_apart(expr):
    """expr with every binder's variable replaced by a fresh one (no name can be captured)."""
    return _walk(expr, 0, {}, _fresh_var)


def subst(expr, mapping: dict):
    """Capture-avoiding substitution of free symbols.

    The result's binders are fresh, not canonical: `canonical` numbers binders from the top of
    the expression it is given, so it is applied to whole claims only (the engine does, after
    every rewrite); applied to a piece, it could give an inner binder the name of a variable
    bound outside that piece."""
    if not mapping:
        return expr
    return rename_apart(expr).xreplace(mapping)


def bound_variables(expr) -> set:
    """Every variable bound somewhere in expr."""
    found: set = set()

    def collect(var, depth, domain):
        found.add(var)
        return var

    _walk(expr, 0, {}, collect)
    return found
