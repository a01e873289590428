"""Rule mutation: break each rewrite of klproof.check.rules.PASSES in turn; `--cross-check` must notice.

The numeric sampler has its own semantics (klproof.check.semantics), so a wrong rule
is not shared by it: a step the broken rule "proves" falsely gets a certified
witness, and the verdict is "internal inconsistency". Each mutant below is a
mistake people make (variance doubled, Bayes with the wrong marginal, log split
for any sign, off-by-one term count ...), and TABLE holds, per rule, the claims
that mistake leads to. The run checks, for every mutant, the TABLE and (unless
--table-only) every step of proofs/ with cross-checking on, and counts the
inconsistencies reported. Without a mutant, there must be none.

    python bench/rule_mutants.py               # table and proofs/ (several minutes)
    python bench/rule_mutants.py --table-only  # the table alone (seconds)
"""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import sympy as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from klproof import vocabulary as C  # noqa: E402
from klproof.check import density_rules, engine, matrix_rules, rules  # noqa: E402
from klproof.check import gaussian_rules as G  # noqa: E402
from klproof.check.decide import Options, check_step  # noqa: E402
from klproof.parse.file import read_derivation  # noqa: E402
from klproof.verdict import Status  # noqa: E402
from klproof.vocabulary.binders import subst  # noqa: E402

HEADER = """title = "rule mutants"
[symbols]
x = "real"
y = "real"
z = "real"
X = "real"
a = "real"
b = "real"
mu = "real"
sigma = "positive"
eps = "real"
j = "integer"
J = "positive integer"
u = "real"
v = "real"
[families]
m = "real"
s = "positive"
[distributions]
P = ["z", "X"]
Q = ["z", "X"]
[definitions]
"d(u, v)" = "u - 2*v"
[matrices]
Sa = "J x J, symmetric positive definite"
Sb = "J x J, symmetric positive definite"
Am = "J x J"
ma = "J vector"
wv = "J vector"
"""


# -- the mutants: each a plausible wrong version of one rule -----------------------------

def _definition(e):  # arguments in the wrong order
    def expand(n):
        body = n.args[1]
        return subst(body.expr, dict(zip(body.variables, reversed(tuple(n.args[2])))))
    return e.replace(lambda n: isinstance(n, C.Defined), expand)


def _diagonal(e):  # det(diag(f)) as a sum, not a product
    e = e.replace(lambda n: isinstance(n, C.Det), lambda n: sp.Sum(n.args[0].args[0], n.args[0].args[1:]))
    return rules.diagonal(e)


def _kl_product(e):  # the per-dimension KLs with q and p swapped
    def split(n):
        q, p, _ = n.args
        if not (isinstance(q, C.NormalDiag) and isinstance(p, C.NormalDiag)):
            return n
        _, mq, sq, j, a, b = q.args
        _, mp, sp_, k, _, _ = p.args
        x = sp.Dummy("x", real=True)
        return sp.Sum(C.KL(C.Normal(x, mp.xreplace({k: j}), sp_.xreplace({k: j})), C.Normal(x, mq, sq), x), (j, a, b))
    return e.replace(lambda n: isinstance(n, C.KL), split)


def _kl_definition(e):  # E_q[log p - log q]: the sign of KL flipped
    return e.replace(lambda n: isinstance(n, C.KL) and not isinstance(n.args[0], C.NormalDiag),
                     lambda n: C.Expectation(sp.log(n.args[1]) - sp.log(n.args[0]), n.args[0], n.args[2]))


def _expectation(e):  # sigma^2 where sigma belongs in the density; the weight forgotten over a model
    def expand(n):
        f, density, var = n.args
        if isinstance(density, C.Normal):
            x, mu, sigma = density.args
            return sp.Integral(C.Normal(x, mu, sigma**2) * f, (var, -sp.oo, sp.oo))
        if isinstance(density, C.Prob):
            return C.LatentSum(f, var)
        return n
    return e.replace(lambda n: isinstance(n, C.Expectation), expand)


def _normal_density(e):  # 2 sigma instead of 2 sigma^2 in the exponent
    def formula(n):
        x, mu, sigma = n.args
        return sp.exp(-((x - mu) ** 2) / (2 * sigma)) / (sp.sqrt(2 * sp.pi) * sigma)
    return e.replace(lambda n: isinstance(n, C.Normal), formula)


def _bayes(e):  # F(a|b) = F(a, b) / F(a): divided by the wrong marginal
    def joint(family, variables):
        return C.Prob(family, sp.Tuple(*sorted(variables, key=sp.default_sort_key)), sp.Tuple())

    def rewrite(n):
        family, targets, givens = n.args
        if not givens:
            return joint(family, targets)
        return joint(family, (*targets, *givens)) / joint(family, targets)
    return e.replace(lambda n: isinstance(n, C.Prob), rewrite)


def _log_rules(e):  # log(ab) = log a + log b whatever the signs
    return sp.expand_log(e, force=True)


@contextlib.contextmanager
def _doubled_variance():
    original = rules._central_moment
    rules._central_moment = lambda k, variance: original(k, 2 * variance)
    try:
        yield
    finally:
        rules._central_moment = original


def _gaussian_moments(e):  # E[x^2] = mu^2 + 2 sigma^2 (the example)
    with _doubled_variance():
        return rules.gaussian_moments(e)


def _sum_linearity(e):  # a sum of a constant over j = a..b counts b - a terms
    def split(n):
        if len(n.limits) != 1:
            return n
        j, a, b = n.limits[0]
        total = sp.Integer(0)
        for coeff, dep in rules._split_terms(n.function, j):
            total += coeff * (b - a) if dep == 1 else coeff * sp.Sum(dep, (j, a, b))
        return total
    return e.replace(lambda n: isinstance(n, sp.Sum), split)


def _linearity(e):  # the sum of a constant over the latent values is the constant
    def split(n):
        f, var = n.args
        return sp.Add(*[coeff if dep == 1 else coeff * C.LatentSum(dep, var)
                        for coeff, dep in rules._split_terms(f, var)])
    return e.replace(lambda n: isinstance(n, C.LatentSum), split)


def _normalization(e):  # summing a conditional over its GIVEN variable gives 1
    def reduce(n):
        f, var = n.args
        if isinstance(f, C.Prob) and var in f.givens:
            return sp.Integer(1)
        return rules.normalization(n)
    return e.replace(lambda n: isinstance(n, C.LatentSum), reduce)


def _mv_normal_density(e):  # log det Sigma without its 1/2
    def formula(n):
        return n.args[0].log_formula() - sp.log(C.Det(n.args[0].args[2])) / 2
    return e.replace(lambda n: isinstance(n, sp.log) and isinstance(n.args[0], C.MvNormal), formula)


def _mv_moments(e):  # E[z^T W z] = tr(W Sigma): the mean's term forgotten
    def expand(n):
        f, density, z = n.args
        if not isinstance(density, C.MvNormal):
            return n
        return matrix_rules.mv_moments(n.func(f, C.MvNormal(z, sp.ZeroMatrix(*z.shape), density.args[2]), z))
    return e.replace(lambda n: isinstance(n, C.Expectation), expand)


def _matrix_algebra(e):  # products under tr taken to commute: the factors sorted
    e = e.replace(lambda n: isinstance(n, C.Trace) and isinstance(n.args[0], sp.MatMul),
                  lambda n: C.Trace(sp.MatMul(*sorted(n.args[0].args, key=sp.default_sort_key))))
    return matrix_rules.matrix_algebra(e)


def _log_det(e):  # det(A^-1) = det A: the reciprocal forgotten
    e = e.replace(lambda n: isinstance(n, C.Det) and isinstance(n.args[0], sp.Inverse),
                  lambda n: C.Det(n.args[0].arg))
    return matrix_rules.log_det(e)


def _differentiation(e):  # the derivative with the wrong sign
    return e.replace(lambda n: isinstance(n, C.DerivativeAt) and not n.body.has(sp.Integral, sp.Sum, C.Expectation),
                     lambda n: -sp.diff(n.body, n.variable, n.order).xreplace({n.variable: n.point}))


def _leibniz(e):  # the derivative moved under every integral, whatever its limits (no boundary term)
    def move(n):
        body = n.body
        if not isinstance(body, sp.Integral) or len(body.limits) != 1:
            return n
        limits = [subst(limit, {n.variable: n.point}) for limit in body.limits]  # the limits at the point
        return sp.Integral(C.DerivativeAt(body.function, n.variable, n.point, n.args[3]), *limits)
    return e.replace(lambda n: isinstance(n, C.DerivativeAt), move)


def _reparameterisation(e):  # z = m + eps: the scale forgotten
    def rewrite(n):
        if not isinstance(n.body, C.Expectation) or not isinstance(n.body.args[1], C.Normal):
            return n
        f, density, z = n.body.args
        eps = sp.Dummy("eps", real=True)
        moved = subst(f, {z: density.args[1] + eps})
        return C.Expectation(C.DerivativeAt(moved, n.variable, n.point, n.args[3]), C.Normal(eps, 0, 1), eps)
    return e.replace(lambda n: isinstance(n, C.DerivativeAt), rewrite)


def _score_function(e):  # E_q[f d log q] only, even where f depends on the parameter
    def rewrite(n):
        if not isinstance(n.body, C.Expectation) or not isinstance(n.body.args[1], C.Normal):
            return n
        f, q, z = n.body.args
        t, point = n.variable, n.point
        at_point = C.Normal(z, subst(q.args[1], {t: point}), subst(q.args[2], {t: point}))
        return C.Expectation(subst(f, {t: point}) * C.DerivativeAt(sp.log(q), t, point, n.args[3]), at_point, z)
    return e.replace(lambda n: isinstance(n, C.DerivativeAt), rewrite)
def _continuous_densities(e):  # the Laplace density with 1/b for 1/(2b)
    return e.replace(lambda n: isinstance(n, C.Laplace), lambda n: n.formula() * 2)


def _absolute_value(e):  # split at the kink, but |x - m| = x - m on both sides
    def split(n):
        var, lo, hi = n.limits[0]
        kinks = [a for a in n.function.atoms(sp.Abs) if a.has(var)]
        if len(n.limits) != 1 or not kinks:
            return n
        c = sp.solve(kinks[0].args[0], var)[0]
        f = n.function.xreplace({a: a.args[0] for a in kinks})
        return sp.Integral(f, (var, lo, c)) + sp.Integral(f, (var, c, hi))
    return e.replace(lambda n: isinstance(n, sp.Integral) and n.function.has(sp.Abs), split)


def _exponential_moments(e):  # int_0^oo x^n exp(-lam x) = n!/lam^n: one power of lam short
    original = density_rules._power_integral

    def short(n, s, lo, hi):
        value = original(n, s, lo, hi)
        return None if value is None else -s * value
    density_rules._power_integral = short
    try:
        return density_rules.exponential_moments(e)
    finally:
        density_rules._power_integral = original


def _closed_forms(e):  # only the exponents compared: the roots and constants in front taken as equal
    if not isinstance(e, sp.Add):
        return e
    groups: dict = {}
    for term in e.args:
        exponent = sp.Add(*[f.args[0] for f in sp.Mul.make_args(term) if isinstance(f, sp.exp)])
        key = sp.expand(exponent) if term.has(sp.exp) else term
        sign = -1 if term.could_extract_minus_sign() else 1
        first, total = groups.get(key, (sign * term, 0))
        groups[key] = (first, total + sign)
    return sp.Add(*[total * first for first, total in groups.values()])


def _normal_product(e):  # the precisions weight the wrong means: m = (a s^2 + b t^2)/(s^2 + t^2)
    def rewrite(n):
        normals = [f for f in n.args if isinstance(f, C.Normal)]
        (x, a, s), (y, b, t) = normals[0].args, normals[1].args
        if x != y:
            return n
        total = s**2 + t**2
        return n / (normals[0] * normals[1]) * C.Normal(a, b, sp.sqrt(total)) \
            * C.Normal(x, (a * s**2 + b * t**2) / total, s * t / sp.sqrt(total))
    return e.replace(lambda n: isinstance(n, sp.Mul) and sum(isinstance(f, C.Normal) for f in n.args) >= 2, rewrite)


def _gaussian_convolution(e):  # the coefficient not squared into the variance: sqrt(s^2 + t^2)
    def rewrite(n):
        x = n.limits[0][0]
        prior, likelihood = sorted(sp.Mul.make_args(n.function), key=lambda f: f.args[0] != x)
        found = G.linear_gaussian(x, prior, likelihood)
        if found is None:
            return n
        y, c, d, m, s, t = found
        return C.Normal(y, c * m + d, sp.sqrt(s**2 + t**2))
    return e.replace(lambda n: isinstance(n, sp.Integral) and len(n.limits) == 1, rewrite)


def _gaussian_conditioning(e):  # the posterior scale s t, not s t / r
    def rewrite(n):
        prior, likelihood = [f for f in n.args if isinstance(f, C.Normal)][:2]
        found = G.linear_gaussian(prior.args[0], prior, likelihood)
        if found is None:
            return n
        y, c, d, m, s, t = found
        r2 = c**2 * s**2 + t**2
        return n / (prior * likelihood) * C.Normal(y, c * m + d, sp.sqrt(r2)) \
            * C.Normal(prior.args[0], m + c * s**2 * (y - c * m - d) / r2, s * t)
    return e.replace(lambda n: isinstance(n, sp.Mul) and sum(isinstance(f, C.Normal) for f in n.args) >= 2, rewrite)


def _multiple_integrals(e):  # a factor moved into the inner integral but also left outside it
    def merge(n):
        inner = [f for f in sp.Mul.make_args(n.function) if isinstance(f, sp.Integral)]
        if len(inner) != 1:
            return n
        outside = n.function / inner[0]
        return sp.Integral(outside**2 * inner[0].function, *inner[0].limits, *n.limits)
    return e.replace(lambda n: isinstance(n, sp.Integral) and isinstance(n.function, sp.Mul), merge)


def _last_factor(e):  # the last factor absorbed without proving that the range is not empty (b >= a - 1)
    def absorb(n):
        parts = list(sp.Mul.make_args(n))
        for k, part in enumerate(parts):
            if isinstance(part, sp.Product):
                j, a, b = part.limits[0]
                following = subst(part.function, {j: b + 1})
                others = parts[:k] + parts[k + 1:]
                if following in others:
                    others.remove(following)
                    return sp.Mul(*others, sp.Product(part.function, (j, a, b + 1)))
        return n
    return e.replace(lambda n: isinstance(n, sp.Mul) and n.has(sp.Product), absorb)


def _log_product(e):  # log prod f_j = sum log f_j whatever the signs of the f_j
    return e.replace(lambda n: isinstance(n, sp.log) and isinstance(n.args[0], sp.Product),
                     lambda n: sp.Sum(sp.log(n.args[0].function), *n.args[0].limits))


def _product_algebra(e):  # a constant factor of a product counted b - a times, not b - a + 1
    def rewrite(n):
        j, a, b = n.limits[0]
        coeff, dep = n.function.as_independent(j, as_Add=False)
        return n if coeff == 1 else coeff ** (b - a) * sp.Product(dep, (j, a, b))
    return e.replace(lambda n: isinstance(n, sp.Product) and len(n.limits) == 1, rewrite)


def _finite_sums(e):  # the closed form of sum_{j=1}^{b} used whatever the lower bound
    def rewrite(n):
        j, _, b = n.limits[0]
        return rules.finite_sums(sp.Sum(n.function, (j, 1, b)))
    return e.replace(lambda n: isinstance(n, sp.Sum) and len(n.limits) == 1 and len(n.limits[0]) == 3
                     and n.limits[0][1] != 1, rewrite)


@dataclass(frozen=True)
class Mutant:
    rule: str
    rewrite: object
    claims: tuple[tuple[str, str, str], ...]  # (start, expr, by): what the mistake leads authors to write


MUTANTS = (
    Mutant("definition", _definition, (("d(a, b)", "b - 2*a", "definition"),)),
    Mutant("diagonal", _diagonal, (("log(det(diag(s[j], (j, 1, J))))", "log(Sum(s[j], (j, 1, J)))",
                                    "trace and determinant"),)),
    Mutant("kl_product", _kl_product, (
        ("KL(NormalDiag(z, m[j], s[j], (j, 1, J)), NormalDiag(z, 0, 1, (j, 1, J)))",
         "Sum(KL(N(z, 0, 1), N(z, m[j], s[j])), (j, 1, J))", "KL of a product"),)),
    Mutant("kl_definition", _kl_definition, (
        ("KL(Q(z|X), P(z|X))", "E(log(P(z|X)) - log(Q(z|X)), Q(z|X))", "definition of KL"),
        ("KL(N(x, mu, sigma), N(x, 0, 1))", "(1 + log(sigma**2) - mu**2 - sigma**2)/2",
         "definition of KL, Gaussian moments"))),
    Mutant("expectation", _expectation, (
        ("E(x**2, N(x, mu, sigma))", "mu**2 + sigma**4", "definition of E, Gaussian moments"),
        ("E(log(Q(z|X)), Q(z|X))", "Sum(log(Q(z|X)), z)", "definition of E"))),
    Mutant("normal_density", _normal_density, (
        ("log(N(x, mu, sigma))", "-log(sqrt(2*pi)*sigma) - (x - mu)**2/(2*sigma)", "normal density, log rules"),)),
    Mutant("bayes", _bayes, (("P(z|X)", "P(X|z)*P(X)/P(z)", "Bayes' rule"),)),
    Mutant("log_rules", _log_rules, (("log(x*y)", "log(x) + log(y)", "log rules"),
                                     ("log(x**2)", "2*log(x)", "log rules"))),
    Mutant("gaussian_moments", _gaussian_moments, (
        ("E(x**2, N(x, mu, sigma))", "mu**2 + 2*sigma**2", "Gaussian moments"),)),
    Mutant("sum_linearity", _sum_linearity, (("Sum(a + j, (j, 1, J))", "a*(J - 1) + Sum(j, (j, 1, J))",
                                              "linearity of sums"),)),
    Mutant("log_product", _log_product, (("log(Product(m[j], (j, 1, J)))", "Sum(log(m[j]), (j, 1, J))",
                                          "log of a finite product"),)),
    Mutant("product_algebra", _product_algebra, (("Product(a*s[j], (j, 1, J))", "a**(J - 1)*Product(s[j], (j, 1, J))",
                                                  "finite products"),)),
    Mutant("finite_sums", _finite_sums, (("Sum(j, (j, 2, J))", "J*(J + 1)/2", "closed form"),)),
    Mutant("linearity", _linearity, (("Sum(a + P(z), z)", "a + 1", "linearity, density sums to 1"),)),
    Mutant("normalization", _normalization, (("Sum(Q(X|z), z)", "1", "density sums to 1"),)),
    Mutant("mv_normal_density", _mv_normal_density, (
        ("log(MvNormal(wv, ma, Sa))", "-J*log(2*pi)/2 - logdet(Sa) - transpose(wv - ma)*inv(Sa)*(wv - ma)/2",
         "log of the multivariate normal density"),)),
    Mutant("mv_moments", _mv_moments, (
        ("E(transpose(wv)*Am*wv, MvNormal(wv, ma, Sa))", "tr(Am*Sa)", "expected quadratic form"),)),
    Mutant("matrix_algebra", _matrix_algebra, (("tr(Am*Sa*Sb)", "tr(Am*Sb*Sa)", "cyclic property of the trace"),)),
    Mutant("log_det", _log_det, (("logdet(inv(Sa))", "logdet(Sa)", "log det"),)),
    Mutant("differentiation", _differentiation, (("Derivative(mu**2*x, mu)", "-2*mu*x", "differentiation"),)),
    Mutant("leibniz", _leibniz, (("Derivative(Integral(exp(-x*mu), (x, 0, mu)), mu)",
                                  "Integral(-x*exp(-x*mu), (x, 0, mu))", "Leibniz"),)),
    Mutant("reparameterisation_gradient", _reparameterisation, (
        ("Derivative(E(z**2, N(z, mu, sigma)), sigma)", "E(Derivative((mu + eps)**2, sigma), N(eps, 0, 1))",
         "reparameterisation gradient"),)),
    Mutant("score_function", _score_function, (
        ("Derivative(E(mu*z, N(z, mu, sigma)), mu)",
         "E(mu*z*Derivative(log(N(z, mu, sigma)), mu), N(z, mu, sigma))", "score function"),)),
    Mutant("continuous_densities", _continuous_densities, (
        ("log(Laplace(x, mu, sigma))", "-Abs(x - mu)/sigma - log(sigma)", "Laplace density, log rules"),)),
    Mutant("absolute_value", _absolute_value, (
        ("E(Abs(x), N(x, 0, sigma))", "0", "definition of E, normal density, split at the kink, exponential moments"),)),
    Mutant("exponential_moments", _exponential_moments, (
        ("E(x, Exponential(x, sigma))", "1", "definition of E, exponential density, exponential moments"),)),
    Mutant("last_factor", _last_factor, (
        ("Product(s[J], (J, 1, j))", "s[j]*Product(s[J], (J, 1, j - 1))", "induction step"),)),
    Mutant("multiple_integrals", _multiple_integrals, (
        ("Integral(u*Integral(N(v, 0, 1), v), (u, 0, 1))", "Integral(u**2, (u, 0, 1))",
         "double integral, Gaussian moments"),)),
    Mutant("closed_forms", _closed_forms, (("sqrt(2)*exp(x)*exp(y)", "exp(x + y)", "combine exponentials"),)),
    Mutant("normal_product", _normal_product, (
        ("N(x, a, sigma)*N(x, b, 2*sigma)", "N(a, b, sqrt(5)*sigma)*N(x, (a + 4*b)/5, 2*sigma/sqrt(5))",
         "product of normal densities"),)),
    Mutant("gaussian_convolution", _gaussian_convolution, (
        ("Integral(N(x, mu, sigma)*N(y, 2*x, sigma), x)", "N(y, 2*mu, sqrt(2)*sigma)", "convolution"),)),
    Mutant("gaussian_conditioning", _gaussian_conditioning, (
        ("N(x, mu, sigma)*N(y, x, sigma)/N(y, mu, sqrt(2)*sigma)", "N(x, (mu + y)/2, sigma**2)", "conditioning"),)),
)


def table_steps():
    """(rule, step) for every claim of the table, one small derivation each."""
    out = []
    for mutant in MUTANTS:
        for start, expr, by in mutant.claims:
            text = HEADER + f"\n[[chain]]\nstart = '''{start}'''\n[[chain.step]]\nexpr = '''{expr}'''\nby = \"{by}\"\n"
            (step,) = read_derivation(f"table:{mutant.rule}", text.encode()).steps
            out.append((mutant.rule, step))
    return out


def proof_steps():
    steps = []
    for path in sorted((ROOT / "proofs").glob("*.toml")):
        steps += read_derivation(str(path.relative_to(ROOT)), path.read_bytes()).steps
    return steps


@contextlib.contextmanager
def broken(rule: str):
    """rules.PASSES (and the engine's reference to it) with `rule` replaced by its mutant."""
    mutant = next(m for m in MUTANTS if m.rule == rule)
    passes = tuple((name, mutant.rewrite if name == rule else fn, triggers) for name, fn, triggers in rules.PASSES)
    saved = rules.PASSES, engine.PASSES
    rules.PASSES = engine.PASSES = passes
    try:
        yield
    finally:
        rules.PASSES, engine.PASSES = saved


OPTIONS = Options(cross_check=True, timeout=60.0)


def inconsistencies(steps) -> list[str]:
    found = []
    for step in steps:
        verdict = check_step(step, OPTIONS)
        if verdict.status is Status.ERROR and "inconsistency" in f"{verdict.method} {verdict.reason}":
            found.append(f"{step.span.path}:{step.span.line}")
    return found


def run(with_proofs: bool = True) -> dict[str, list[str]]:
    """rule -> the steps where cross-checking reported the broken rule ('' key: no rule broken)."""
    table = [step for _, step in table_steps()]
    everything = table + (proof_steps() if with_proofs else [])
    results = {"": inconsistencies(everything)}
    for mutant in MUTANTS:
        with broken(mutant.rule):
            results[mutant.rule] = inconsistencies(everything)
    return results


if __name__ == "__main__":
    started = time.perf_counter()
    outcome = run(with_proofs="--table-only" not in sys.argv)
    for rule, found in outcome.items():
        print(f"{rule or '(no rule broken)':18} {len(found):3} inconsistencies  {', '.join(found[:4])}")
    caught = sum(1 for rule, found in outcome.items() if rule and found)
    print(f"caught {caught} of {len(MUTANTS)} broken rules in {time.perf_counter() - started:.0f} s")
