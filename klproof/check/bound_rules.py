"""The rules for bounds: each proves big >= small (or >) or says nothing.

Every rule names its side conditions (see the catalog) and proves them before it
fires: Jensen needs a density and, for log and sqrt, a positive (nonnegative)
argument; monotonicity of log needs positive sides; Gibbs needs two densities.
An unproved side condition means the rule does not fire. A rule returns the ids
of the rules its argument used, or None.

`Prover` is the recursion: rules reduce a bound to smaller bounds (log a >= log b
to a >= b, E_q[f] >= E_q[g] to f >= g) and to identities, which the equality
engine proves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from klproof import vocabulary as C
from klproof.vocabulary import domains

MAX_DEPTH = 4
MAX_KL_CANDIDATES = 8  # KL(q || p) tried by Gibbs' rule: each costs one run of the equality rules

# Jensen: concave functions give phi(E[g]) >= E[phi(g)], convex ones E[phi(g)] >= phi(E[g]).
CONCAVE = ("log", "sqrt")
CONVEX = ("exp", "square")


def lower(e: sp.Expr, strict: bool = False) -> set[str] | None:
    """The rules showing e >= 0 (e > 0 when strict) term by term, or None.

    Nonnegative terms: squares of reals, exp, declared nonnegative quantities, positive × nonnegative,
    KL divergences (Gibbs), E, Σ and ∫ of something nonnegative."""
    if e == 0:
        return None if strict else set()
    if e.is_positive or (not strict and e.is_nonnegative) or domains.sign(e) == 1 \
            or (not strict and domains.nonnegative(e)):
        return {"nonnegative_terms"}
    if isinstance(e, C.KL):
        return None if strict else {"gibbs"}
    if isinstance(e, C.Expectation):
        return _with(lower(_unbound(e.args[0], e.args[2]), strict), "nonnegative_terms")
    if isinstance(e, C.LatentSum):
        return _with(lower(_unbound(e.args[0], e.args[1]), strict), "nonnegative_terms")
    if isinstance(e, (sp.Sum, sp.Integral)) and len(e.limits) == 1 and len(e.limits[0]) == 3:
        var, lo, hi = e.limits[0]
        if isinstance(e, sp.Integral) and not (lo == -sp.oo and hi == sp.oo):
            return None
        if strict:
            return None  # a sum may be empty, an integral of a positive function may still be 0 on a null set
        return _with(lower(_unbound(e.function, var)), "nonnegative_terms")
    if e.is_Add:
        found_parts = [lower(t, False) for t in e.args]
        parts = [p for p in found_parts if p is not None]
        if len(parts) < len(e.args):
            return None
        if strict and not any(lower(t, True) is not None for t in e.args):
            return None
        return set().union(*parts)
    if e.is_Mul:  # each factor >= 0 or <= 0, an even number of them <= 0
        found, negatives = {"nonnegative_terms"}, 0
        for factor in e.args:
            part = lower(factor, strict)
            if part is None and _nonpositive(factor, strict):
                part = {"nonnegative_terms"}
                negatives += 1
            if part is None:
                return None
            found |= part
        return found if negatives % 2 == 0 else None
    if e.is_Pow:
        base, exponent = e.as_base_exp()
        if exponent.is_integer and exponent.is_even and base.is_real:
            return None if strict and not base.is_nonzero else {"nonnegative_terms"}
        base_found = lower(base, strict)
        if base_found is not None and exponent.is_real and (strict or exponent.is_nonnegative):
            return base_found | {"nonnegative_terms"}
    return None


def _nonpositive(e: sp.Expr, strict: bool) -> bool:
    """e <= 0 (< 0 when strict), without recursing through lower(-e) (which would come back here)."""
    if e.is_negative or (not strict and e.is_nonpositive) or domains.sign(e) == -1:
        return True
    if e.is_Add:
        return lower(sp.expand(-e), strict) is not None
    return not strict and domains.nonnegative(-e)


def _unbound(e: sp.Expr, var) -> sp.Expr:
    """e with a bound variable replaced by a real placeholder with no other assumption: a claim about e must
    hold wherever the binder's range goes, not only where the file's symbol of the same name is declared."""
    if isinstance(var, sp.Symbol):
        return e.xreplace({var: sp.Dummy(var.name, real=True)})
    return e if not e.has(var) else e.xreplace({var: sp.Dummy("v", real=True)})


def _with(found: set[str] | None, rule: str) -> set[str] | None:
    return None if found is None else found | {rule}


def as_expectation(e: sp.Expr):
    """(f, density, var) if e is E_q[f] or c E_q[f] with c a constant (moved inside), or the sum over all
    values of z of q(z|...) f with q a declared distribution over z (E_q[f] as papers write it), else None."""
    coeff, rest = e.as_coeff_Mul()
    if isinstance(rest, C.Expectation):
        f, density, var = rest.args
        return coeff * f, density, var
    if isinstance(rest, C.LatentSum):
        summand, var = rest.args
        for q in sp.Mul.make_args(summand):
            if isinstance(q, C.Prob) and q.targets == (var,):
                return coeff * sp.cancel(summand / q), q, var
    return None


def inverse(phi: str, h: sp.Expr) -> sp.Expr | None:
    """g with h = phi(g), read off h's form (log: a sum of c log a, recombined into a product)."""
    if phi == "log":
        g = sp.Integer(1)
        for term in sp.Add.make_args(sp.expand(h)):
            c, rest = term.as_coeff_Mul()
            if isinstance(rest, sp.log):
                g *= rest.args[0] ** c
            else:
                return None
        return g
    if phi == "sqrt":
        return h.base if h.is_Pow and h.exp == sp.Rational(1, 2) else None
    if phi == "exp":
        return h.args[0] if isinstance(h, sp.exp) else None
    if phi == "square":
        return h.base if h.is_Pow and h.exp == 2 else None
    return None


def outer(phi: str, e: sp.Expr) -> sp.Expr | None:
    """A with e = phi(A), or None."""
    if phi == "log" and isinstance(e, sp.log):
        return e.args[0]
    if phi == "exp" and isinstance(e, sp.exp):
        return e.args[0]
    if phi in ("sqrt", "square") and e.is_Pow and e.exp == (sp.Rational(1, 2) if phi == "sqrt" else 2):
        return e.base
    return None


def _argument_ok(phi: str, g: sp.Expr) -> bool:
    """Jensen's side condition on the argument: log needs g > 0, sqrt g >= 0, exp and x^2 a real g."""
    if phi == "log":
        return g.is_positive is True or domains.sign(g) == 1 or lower(g, strict=True) is not None
    if phi == "sqrt":
        return lower(g) is not None
    return g.is_real is True


@dataclass
class Prover:
    """Proves big >= small by the rules above; `equal(a, b)` is the equality engine (a == b proved)."""

    equal: Callable[[sp.Expr, sp.Expr], bool]  # a == b proved by the equality rules
    normalize: Callable[[sp.Expr], sp.Expr] | None = None  # e rewritten by the equality rules (KL kept)
    premise: tuple[sp.Expr, sp.Expr, bool] | None = None  # (big, small, strict) of the previous inequality

    def ge(self, big: sp.Expr, small: sp.Expr, strict: bool = False, depth: int = 0) -> set[str] | None:
        if depth > MAX_DEPTH:
            return None
        if self.premise is not None and (self.premise[2] or not strict) \
                and self.equal(big, self.premise[0]) and self.equal(small, self.premise[1]):
            return {"monotonicity"}  # the previous inequality itself, reached through the monotone steps
        for attempt in (self.difference, self.jensen, self.jensen_finite, self.gibbs, self.log_sum,
                        self.monotone, self.common_terms):
            found = attempt(big, small, strict, depth)
            if found is not None:
                return found
        if not strict:
            # a bound reads the same negated: big >= small is -small >= -big (e.g. -log E[g] <= E[-log g])
            for attempt in (self.jensen, self.jensen_finite):
                found = attempt(-small, -big, strict, depth)
                if found is not None:
                    return found
        return None

    # -- big - small is a sum of nonnegative terms ---------------------------------------
    def difference(self, big, small, strict, depth):
        d = big - small
        forms = [d, sp.expand(d)]
        if self.normalize is not None:
            forms.append(self.normalize(d))
        # x log q - log q = (x - 1) log q: a product of signs (collected by each log, or by common factors)
        forms += [sp.collect(f, sorted(f.atoms(sp.log), key=sp.default_sort_key)) for f in forms[1:]]
        forms += [sp.factor_terms(f) for f in forms[1:]]
        for form in forms:
            found = lower(form, strict)
            if found is not None:
                return found
        if not d.has(C.Expectation, C.KL, C.LatentSum, sp.Integral, sp.Sum, C.Prob):
            factored = sp.factor(d)
            if factored != d:
                return lower(factored, strict)
        return None

    # -- Jensen ---------------------------------------------------------------------
    def jensen(self, big, small, strict, depth):
        """phi(E_q[g]) >= E_q[phi(g)] for concave phi; E_q[phi(g)] >= phi(E_q[g]) for convex phi."""
        if strict:
            return None  # Jensen is an equality for a constant g: it never gives '>'
        for phi in CONCAVE + CONVEX:
            outside, inside = (big, small) if phi in CONCAVE else (small, big)
            argument = outer(phi, outside)
            expectation = as_expectation(inside)
            if argument is None or expectation is None:
                continue
            h, density, var = expectation
            g = inverse(phi, h)
            if g is None or C.density_variable(density) is None or not _argument_ok(phi, _unbound(g, var)):
                continue
            if self.equal(argument, C.Expectation(g, density, var)):
                return {"jensen"}
        return None

    def jensen_finite(self, big, small, strict, depth):
        """phi(sum w_i x_i) >= sum w_i phi(x_i) for concave phi, w_i >= 0 with sum 1 (and convex, reversed)."""
        if strict:
            return None
        for phi in CONCAVE + CONVEX:
            outside, combination = (big, small) if phi in CONCAVE else (small, big)
            argument = outer(phi, outside)
            if argument is None:
                continue
            weights: dict = {}
            for term in sp.Add.make_args(sp.expand(combination) if phi != "log" else combination):
                w, rest = _split_weight(term)
                x = inverse(phi, rest)
                if x is None:
                    weights = {}
                    break
                weights[x] = weights.get(x, 0) + w
            if len(weights) < 2 or not all(lower(w) is not None for w in weights.values()):
                continue
            if not all(_argument_ok(phi, x) for x in weights) or sp.simplify(sum(weights.values()) - 1) != 0:
                continue
            if self.equal(argument, sp.Add(*[w * x for x, w in weights.items()])):
                return {"jensen"}
        return None

    # -- Gibbs: KL >= 0 ---------------------------------------------------------------
    def gibbs(self, big, small, strict, depth):
        """big - small is KL(q || p) (plus nonnegative terms) for densities q, p found in the step."""
        if strict:
            return None
        d = big - small
        for candidate in kl_candidates(sp.Tuple(big, small))[:MAX_KL_CANDIDATES]:
            if self.equal(d, candidate):
                return {"gibbs"}
        return None

    # -- the log-sum inequality --------------------------------------------------------------
    def log_sum(self, big, small, strict, depth):
        """sum_i a_i log(a_i / b_i) >= (sum a_i) log(sum a_i / sum b_i), a_i, b_i > 0."""
        if strict:
            return None
        pairs = []
        for term in sp.Add.make_args(big):
            a, rest = term.as_independent(sp.log, as_Add=False)
            if not isinstance(rest, sp.log):
                return None
            num, den = sp.fraction(sp.together(rest.args[0]))
            if sp.expand(num - a) != 0:
                return None
            pairs.append((a, den))
        if len(pairs) < 2 or not all(domains.sign(a) == 1 and domains.sign(b) == 1 for a, b in pairs):
            return None
        total_a, total_b = sp.Add(*[a for a, _ in pairs]), sp.Add(*[b for _, b in pairs])
        if self.equal(small, total_a * sp.log(total_a / total_b)):
            return {"log_sum"}
        return None

    # -- monotonicity -----------------------------------------------------------------------
    def monotone(self, big, small, strict, depth):
        """log, exp, sqrt, E_q, a positive factor preserve >=: reduce to the arguments."""
        for phi in ("log", "exp", "sqrt"):
            a, b = outer(phi, big), outer(phi, small)
            if a is None or b is None:
                continue
            if phi == "log" and not (_argument_ok("log", b) and _argument_ok("log", a)):
                continue
            if phi == "sqrt" and lower(b) is None:
                continue
            found = self.ge(a, b, strict, depth + 1)
            if found is not None:
                return found | {"monotonicity"}
        terms = sp.Add.make_args(sp.expand(big - small))
        logs = [t for t in terms if isinstance(t, sp.log)]
        minus = [-t for t in terms if isinstance(-t, sp.log)]
        if len(terms) == 2 and len(logs) == 1 and len(minus) == 1:  # log a - log b >= 0 from a >= b
            a, b = logs[0].args[0], minus[0].args[0]
            if _argument_ok("log", a) and _argument_ok("log", b):
                found = self.ge(a, b, strict, depth + 1)
                if found is not None:
                    return found | {"monotonicity"}
        eb, es = as_expectation(big), as_expectation(small)
        if eb is not None and es is not None and eb[1:] == es[1:] and not strict:
            point = sp.Dummy(str(eb[2]), real=True)  # pointwise, wherever the density's variable goes
            found = self.ge(eb[0].xreplace({eb[2]: point}), es[0].xreplace({eb[2]: point}), strict, depth + 1)
            if found is not None:
                return found | {"monotonicity"}
        roots = any(n.is_Pow and n.exp.is_Rational and n.exp.q == 2 for n in sp.preorder_traversal(sp.Tuple(big, small)))
        if roots and lower(small) is not None and lower(big) is not None:
            # both sides >= 0: a >= b follows from a^2 >= b^2 (square roots go away)
            found = self.ge(sp.expand(big**2), sp.expand(small**2), strict, depth + 1)
            if found is not None:
                return found | {"monotonicity"}
        common = set(sp.Mul.make_args(big)) & set(sp.Mul.make_args(small))
        factor = sp.Mul(*common)
        if common and factor != 1 and domains.sign(factor) == 1:
            found = self.ge(sp.cancel(big / factor), sp.cancel(small / factor), strict, depth + 1)
            if found is not None:
                return found | {"monotonicity"}
        return None

    def common_terms(self, big, small, strict, depth):
        """Terms on both sides cancel: a + t >= b + t from a >= b (adding the same term)."""
        left, right = sp.Add.make_args(big), sp.Add.make_args(small)
        shared = set(left) & set(right)
        if not shared:
            return None
        return self.ge(sp.Add(*[t for t in left if t not in shared]), sp.Add(*[t for t in right if t not in shared]),
                       strict, depth + 1)


def _split_weight(term: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """(weight, phi(x)) of a term w * phi(x): the factors that are not a function application are the weight."""
    weight, rest = sp.Integer(1), sp.Integer(1)
    for factor in sp.Mul.make_args(term):
        if isinstance(factor, (sp.log, sp.exp)) or (factor.is_Pow and factor.exp in (2, sp.Rational(1, 2))):
            rest *= factor
        else:
            weight *= factor
    return weight, rest


def kl_candidates(expr: sp.Expr) -> list[sp.Expr]:
    """KL(q || p) for each density q the step takes an expectation or KL over, and each other family's
    conditional or marginal over the same variable: the KL a bound such as log p(x) >= ELBO leaves out."""
    densities = [n.args[1] for n in expr.atoms(C.Expectation)] + [n.args[0] for n in expr.atoms(C.KL)]
    families = {p.args[0] for p in expr.atoms(C.Prob)}
    out: list[sp.Expr] = []
    for q in densities:
        if not isinstance(q, C.Prob) or len(q.targets) != 1:
            continue
        var = q.targets[0]
        for family in sorted(families, key=str):
            for givens in (q.args[2], sp.Tuple()):
                p = C.Prob(family, sp.Tuple(var), givens)
                candidate = C.KL(q, p, var)
                if p != q and candidate not in out:
                    out.append(candidate)
    return out
