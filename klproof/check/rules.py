"""The rewrites, one function each: every one maps an expression to an equal expression.

Each rewrite is a theorem applied under the declared assumptions (e.g. a log is
split only where SymPy can prove its arguments positive; a Gaussian integral is
evaluated only where the quadratic coefficient is provably negative). A rewrite
that cannot justify itself leaves the expression alone; it never guesses.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from klproof import vocabulary as C
from klproof.check import gaussian_rules as G
from klproof.check import gradient_rules as GR
from klproof.check.product_rules import finite_sums, log_product, product_algebra
from klproof.vocabulary.binders import subst

MAX_DEFINITION_DEPTH = 20
MAX_WRITTEN_OUT = 32  # terms of a finite sum with concrete bounds that are written out


def expand_definitions(e: sp.Expr) -> sp.Expr:
    """Each application replaced by its body, where its arguments meet the parameters' assumptions."""

    def expand(n: C.Defined):
        body = n.expand_definition()
        return n if body is None else body

    for _ in range(MAX_DEFINITION_DEPTH):
        if not e.has(C.Defined):
            return e
        after = e.replace(lambda n: isinstance(n, C.Defined), expand)
        if after == e:
            return e
        e = after
    return e


def diagonal(e: sp.Expr) -> sp.Expr:
    """tr, det, u^T v of diagonal matrices as sums and products; log of a product as a sum of logs."""
    e = e.replace(lambda n: isinstance(n, C.Trace), lambda n: sp.Sum(n.args[0].args[0], n.args[0].args[1:]))
    e = e.replace(lambda n: isinstance(n, C.Det), lambda n: sp.Product(n.args[0].args[0], n.args[0].args[1:]))
    e = e.replace(lambda n: isinstance(n, C.Dot), lambda n: sp.Sum(n.args[0] * n.args[1], n.args[2:]))
    return log_product(e)


def kl_product(e: sp.Expr) -> sp.Expr:
    """KL of two diagonal Gaussians over the same dimensions: the sum of the per-dimension KLs."""

    def split(n: C.KL):
        q, p, _ = n.args
        if not (isinstance(q, C.NormalDiag) and isinstance(p, C.NormalDiag)):
            return n
        _, mq, sq, j, a, b = q.args
        _, mp, sp_, k, a2, b2 = p.args
        if (a, b) != (a2, b2):
            return n
        # The per-dimension KL is over the density's own (real) variable, as authors write it,
        # so that "KL of a product" alone closes KL(prod q_j || prod p_j) = sum_j KL(q_j || p_j).
        x = q.args[0] if q.args[0].is_real else sp.Dummy("x", real=True)
        # p's index becomes q's: capture-avoiding, so a free j inside p is never taken for the index
        mp, sp_ = subst(mp, {k: j}), subst(sp_, {k: j})
        return sp.Sum(C.KL(C.Normal(x, mq, sq), C.Normal(x, mp, sp_), x), (j, a, b))

    return e.replace(lambda n: isinstance(n, C.KL), split)


def kl_definition(e: sp.Expr) -> sp.Expr:
    return e.replace(
        lambda n: isinstance(n, C.KL) and not isinstance(n.args[0], C.NormalDiag),
        lambda n: C.Expectation(sp.log(n.args[0]) - sp.log(n.args[1]), n.args[0], n.args[2]),
    )


def expectation(e: sp.Expr, latent_sum: Callable[[sp.Expr, sp.Symbol], sp.Expr] = C.LatentSum) -> sp.Expr:
    """E over a normal density is an integral over the real line; over an abstract density, a sum
    over its variable's values (`latent_sum`: the benchmark's plain-SymPy baseline passes its own)."""

    def expand(n: C.Expectation):
        f, density, var = n.args
        if isinstance(density, C.Normal):
            return sp.Integral(density * f, (var, -sp.oo, sp.oo))
        if isinstance(density, C.Prob):
            return latent_sum(density * f, var)
        if isinstance(density, C.FINITE_DENSITIES):  # a finite sum over the support, written out
            return sp.Add(*[subst(density * f, {var: value}) for value in density.support])
        return n

    return e.replace(lambda n: isinstance(n, C.Expectation), expand)


def normal_density(e: sp.Expr) -> sp.Expr:
    return e.replace(lambda n: isinstance(n, C.Normal), lambda n: n.formula())


def bayes(e: sp.Expr) -> sp.Expr:
    """F(a|b) = F(a, b) / F(b), with a joint's variables in a canonical order.

    With every conditional written through joints and marginals, Bayes' rule
    P(z|X) = P(X|z) P(z) / P(X) holds by cancellation.
    """

    def joint(family, variables):
        return C.Prob(family, sp.Tuple(*sorted(variables, key=sp.default_sort_key)), sp.Tuple())

    def rewrite(n: C.Prob):
        family, targets, givens = n.args
        if not givens:
            return joint(family, targets)
        return joint(family, (*targets, *givens)) / joint(family, givens)

    return e.replace(lambda n: isinstance(n, C.Prob), rewrite)


def log_rules(e: sp.Expr) -> sp.Expr:
    # force=False: SymPy splits a log only where it can prove the arguments positive.
    return sp.expand_log(e, force=False)


def _split_terms(f: sp.Expr, var) -> list[tuple[sp.Expr, sp.Expr]]:
    """f as a sum of (coefficient free of var, factor depending on var)."""
    return [t.as_independent(var, as_Add=False) for t in sp.Add.make_args(sp.expand(f))]


def sum_linearity(e: sp.Expr) -> sp.Expr:
    """Split finite sums into sums of monomials, constants pulled out (the engine names indices canonically)."""

    def split(n: sp.Sum):
        if len(n.limits) > 1:  # SymPy merges nested sums; the first limit is the innermost
            inner = split(sp.Sum(n.function, n.limits[0]))
            return sp.Add(*[sp.Sum(term, *n.limits[1:]) for term in sp.Add.make_args(sp.expand(inner))])
        if len(n.limits[0]) != 3:
            return n
        j, a, b = n.limits[0]
        if a.is_Integer and b.is_Integer and 0 <= b - a + 1 <= MAX_WRITTEN_OUT:  # written out, term by term
            return sp.Add(*[subst(n.function, {j: value}) for value in range(int(a), int(b) + 1)])
        total = sp.Integer(0)
        for coeff, dep in _split_terms(n.function, j):
            if dep == 1 and (b - a + 1).is_nonnegative and a.is_integer and b.is_integer:
                total += coeff * (b - a + 1)  # an empty range sums to 0: only count terms where b >= a - 1
            else:
                total += coeff * sp.Sum(dep, (j, a, b))
        return total

    return e.replace(lambda n: isinstance(n, sp.Sum), split)


def _central_moment(k: int, variance: sp.Expr) -> sp.Expr:
    """E[Y^k] for Y ~ N(0, variance)."""
    if k % 2:
        return sp.Integer(0)
    return sp.factorial2(k - 1) * variance ** sp.Rational(k, 2)


def _gaussian(n: sp.Integral) -> sp.Expr | None:
    """Closed form of the integral over the real line of sum_k c_k x^n exp(q(x)), q quadratic with q'' < 0."""
    x = n.limits[0][0]
    total = sp.Integer(0)
    for coeff, dep in _split_terms(n.function, x):
        if coeff == 0:
            continue
        exponent, rest = sp.Integer(0), sp.Integer(1)
        # expand writes exp(-u)/(a + b) as 1/(a exp(u) + b exp(u)): the exponentials of the denominator are
        # its common factor (factor_terms), and count with their sign
        numerator, denominator = sp.fraction(dep)
        for part, sign in ((numerator, 1), (sp.factor_terms(denominator), -1)):
            for factor in sp.Mul.make_args(sp.powsimp(part, combine="exp")):
                if isinstance(factor, sp.exp):
                    exponent += sign * factor.args[0]
                else:
                    rest *= factor**sign
        if exponent == 0 or not rest.is_polynomial(x):
            return None  # no Gaussian factor: the integral over the real line does not converge
        try:
            quadratic = sp.Poly(sp.expand(exponent), x)
            polynomial = sp.Poly(rest, x)
        except sp.PolynomialError:
            return None
        if quadratic.degree() != 2:
            return None
        a2, a1, a0 = quadratic.all_coeffs()
        curvature = -a2
        if curvature.is_positive is not True:
            return None
        mean, variance = a1 / (2 * curvature), 1 / (2 * curvature)
        moments = sp.Integer(0)
        for (power,), c in polynomial.terms():
            moments += c * sum(sp.binomial(power, i) * mean ** (power - i) * _central_moment(i, variance)
                               for i in range(power + 1))
        total += coeff * sp.exp(sp.expand(a0 + a1**2 / (4 * curvature))) * sp.sqrt(sp.pi / curvature) * moments
    return total


def gaussian_moments(e: sp.Expr) -> sp.Expr:
    def whole_line(n) -> bool:  # over the real line in its innermost variable (SymPy's first limit)
        return isinstance(n, sp.Integral) and len(n.limits[0]) == 3 \
            and n.limits[0][1] == -sp.oo and n.limits[0][2] == sp.oo

    def evaluate(n: sp.Integral) -> sp.Expr:
        # A multiple integral (SymPy merges nested ones) is an iterated integral: the innermost first, as
        # written; no change of order (Fubini) is involved.
        inner = sp.Integral(n.function, n.limits[0]) if len(n.limits) > 1 else n
        closed = _gaussian(inner)
        if closed is None:
            return n
        return sp.Integral(closed, *n.limits[1:]) if len(n.limits) > 1 else closed

    return e.replace(whole_line, evaluate)


def linearity(e: sp.Expr) -> sp.Expr:
    """Sums over latent values are linear: constants out, one sum per term."""

    def split(n: C.LatentSum):
        f, var = n.args
        return sp.Add(*[coeff * C.LatentSum(dep, var) for coeff, dep in _split_terms(f, var)])

    return e.replace(lambda n: isinstance(n, C.LatentSum), split)


def normalization(e: sp.Expr) -> sp.Expr:
    """sum_z F(z, rest) = F(rest) (marginalisation); sum_z F(z) = 1; sum_z F(z|g) = 1."""

    def reduce(n: C.LatentSum):
        f, var = n.args
        if not isinstance(f, C.Prob) or var not in f.targets:
            return n
        rest = tuple(t for t in f.targets if t != var)
        if not rest:
            return sp.Integer(1)
        if f.givens:  # sum over one target of a conditional: the conditional of the others
            return n
        return C.Prob(f.args[0], sp.Tuple(*rest), sp.Tuple())

    return e.replace(lambda n: isinstance(n, C.LatentSum), reduce)


# The order in which the normaliser applies them: vocabulary first, then algebra on what is left.
# Each rule names the classes it rewrites; a pass whose classes are absent is skipped
# (a `has` test is far cheaper than a `replace` walk that rebuilds the tree).
PASSES: tuple[tuple[str, Callable[[sp.Expr], sp.Expr], tuple[type, ...]], ...] = (
    ("definition", expand_definitions, (C.Defined,)),
    ("diagonal", diagonal, (C.Trace, C.Det, C.Dot, sp.Product)),
    ("log_product", log_product, (sp.Product,)),
    ("kl_product", kl_product, (C.KL,)),
    ("kl_definition", kl_definition, (C.KL,)),
    # a derivative of E over a normal is rewritten before E becomes an integral (klproof.check.gradient_rules)
    ("reparameterisation_gradient", GR.reparameterisation, (C.DerivativeAt,)),
    ("score_function", GR.score_function, (C.DerivativeAt,)),
    ("expectation", expectation, (C.Expectation,)),
    ("multiple_integrals", G.nested_integrals, (sp.Integral,)),
    ("multiple_integrals", G.fubini, (sp.Integral,)),
    ("gaussian_convolution", G.gaussian_convolution, (C.Normal,)),
    ("normal_product", G.normal_product, (C.Normal,)),
    ("gaussian_conditioning", G.gaussian_conditioning, (C.Normal,)),
    ("closed_forms", G.normal_arguments, (C.Normal,)),
    ("normal_density", G.log_normal, (C.Normal,)),
    ("normal_density", normal_density, (C.Normal,)),
    ("product_algebra", product_algebra, (sp.Product,)),
    ("leibniz", GR.leibniz, (C.DerivativeAt,)),
    ("differentiation", GR.differentiation, (C.DerivativeAt,)),
    ("bayes", bayes, (C.Prob,)),
    ("log_rules", log_rules, (sp.log,)),
    ("gaussian_moments", gaussian_moments, (sp.Integral,)),
    ("sum_linearity", sum_linearity, (sp.Sum,)),
    ("finite_sums", finite_sums, (sp.Sum,)),
    ("linearity", linearity, (C.LatentSum,)),
    ("normalization", normalization, (C.LatentSum,)),
    ("closed_forms", G.closed_forms, (sp.exp, sp.Pow)),
    ("last_factor", G.last_factor, (sp.Product, sp.Sum)),
)
