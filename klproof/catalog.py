"""The names of klproof's rewrites: what a step's `by` may say, and what the report prints.

Kept free of SymPy so that reading a file's justifications, `klproof --help`
and error messages do not pay for importing the algebra system.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from klproof.errors import did_you_mean


@dataclass(frozen=True)
class RuleInfo:
    id: str
    title: str  # how the report names it
    statement: str  # what it says, for `klproof rules` and the README
    aliases: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # rules it cannot work without
    conditions: tuple[str, ...] = ()  # side conditions (proved before it fires) and assumptions it makes


# Side conditions and assumptions, one entry per rule (what `klproof rules` and the README show);
# the rewrites in check/rules.py check the provable ones before they fire.
CONDITIONS: dict[str, tuple[str, ...]] = {
    "algebra": ("a common factor cancels at generic points (a/a = 1); points where a denominator vanishes "
                "are not tracked",),
    "definition": ("a definition sees only the definitions above it (no recursion)",),
    "normal_density": ("none; note that N(x, mu, sigma) takes the standard deviation sigma, not the variance",),
    "log_rules": ("log(ab) and log(a/b) split only where a and b are provably positive",
                  "log(a^n) = n log a only for provably positive a (or integer n)",
                  "log(exp(a)) = a only for provably real a"),
    "kl_definition": ("not for two diagonal Gaussian products (that is 'KL of independent products')",),
    "expectation": ("the variable drawn is the density's own (bound) variable",),
    "linearity": ("a and b do not depend on the variable summed or integrated over",),
    "normalization": ("the sum is over a target variable of the probability",
                      "a conditional sums to 1 over all of its targets"),
    "bayes": ("assumes every probability it divides by is positive, as such derivations do",),
    "gaussian_moments": ("the quadratic coefficient a is provably positive (the integral converges)",
                         "the integral is over the whole real line; the prefactor is a polynomial in x"),
    "sum_linearity": ("sum_{j=a}^{b} c = c (b - a + 1) only where b >= a - 1 is provable (an empty range sums to 0)",
                      "the terms pulled out do not depend on the index"),
    "diagonal": ("log prod v_j = sum log v_j only for provably positive v_j",),
    "kl_product": ("both products run over the same index range",),
    "log_product": ("log prod_j f_j = sum_j log f_j only where every f_j is provably positive "
                    "(and every other factor inside the log)",),
    "product_algebra": ("prod_{j=a}^{b} c = c^(b - a + 1) only where b >= a - 1 is provable (an empty range "
                        "multiplies to 1)", "prod_j c^(g_j) = c^(sum_j g_j) only for provably positive c",
                        "written out only for concrete bounds with at most 32 factors"),
    "finite_sums": ("only where b >= a - 1 is provable (an empty range sums to 0)",
                    "the summand is a polynomial in j of degree at most 8, or r^(p j + q) (times a polynomial of "
                    "degree at most 3) with r provably positive, or nonzero and p an integer",
                    "geometric sums: r != 1 must be provable (where r = 1 cannot be excluded the sum is left as it is)",
                    "SymPy's closed form G is accepted only if G(a - 1) = 0 and G(n) - G(n - 1) = f(n) "
                    "hold identically, with every denominator of G provably nonzero"),
    "substitution": ("the substitution is affine, x = a u + b, so |a| is the Jacobian and the limits map",),
    "equation": ("multiplying both sides needs a provably nonzero factor free of sums and integrals",),
    "simplify": ("SymPy's simplify under the declared assumptions; within the step's time limit",),
    "evaluation": ("accepted only where klproof's independent numeric check agrees at sample points",),
    # derivatives (klproof.check.gradient_rules); a blocked condition is named in the step's verdict by its index
    "differentiation": ("the expression differentiated has no integral, sum, expectation or other notion inside "
                        "(move the derivative in with 'Leibniz' or evaluate those first)",
                        "only functions without kinks or branches (no |.|, sign, Max, Min): the derivative SymPy "
                        "computes holds wherever the expression is defined",
                        "the variable ranges over an open set around the point: real, or positive, negative, "
                        "nonzero as the point is declared (never an integer)"),
    "leibniz": ("the limits of the integral or sum do not depend on the variable of differentiation, and a sum "
                "is finite",
                "dominated convergence: over the real line each term of the integrand is c(θ) x^k exp(Q(x, θ)) "
                "times sines and cosines of polynomials in x, Q quadratic in x with a provably negative x² "
                "coefficient, every θ-coefficient smooth near the point; over finite limits the integrand is "
                "smooth in x and θ on the closed rectangle; a finite sum needs nothing",
                "not under a sum or integral over all values of an abstract variable (no integrand to dominate)"),
    "reparameterisation_gradient": ("z ~ N(m(θ), s(θ)) with s provably positive, m real, both smooth in θ",
                           "dominated convergence for N(ε; 0, 1) f(m + s ε, θ) as for 'Leibniz' (e.g. f polynomial)"),
    "score_function": ("dominated convergence for N(z; m(θ), s(θ)) f(z, θ) as for 'Leibniz' (e.g. f polynomial), "
                       "s provably positive",
                       "the term E_q[∇_θ f] is part of the result whenever f depends on θ"),
    "closed_forms": ("every factor compared through its log is provably positive (log is one-to-one only there)",
                     "log(exp(a)) = a only for provably real a; log(b^k) = k log b only for positive b and real k",
                     "the logs are compared as rational functions of their log atoms: a common factor cancels at "
                     "generic points, as in algebra"),
    "normal_product": ("s and t are provably positive; x, a and b are provably real",),
    "last_factor": ("b >= a - 1 is provable (b = a - 1: the empty product is 1, the empty sum 0)",
                    "the factor (term) is the product's (sum's) own f at j = b + 1, written the same way"),
    "multiple_integrals": ("a factor moved into an inner integral does not depend on its variables and holds no "
                           "integral or sum",
                           "the order is changed only over a box: every limit's bounds are free of the integration "
                           "variables (a region such as v > u is left as written)",
                           "and only where the integrand is provably nonnegative (Tonelli), or Gaussian-dominated: a "
                           "polynomial times exp(q), q a quadratic form whose Hessian is provably negative definite "
                           "(Fubini); otherwise the order stays as written",
                           "multiple integrals are not sampled (quadrature in two or more dimensions is too slow): "
                           "such a step is proved or stays unknown, never refuted"),
    "gaussian_convolution": ("the integral is over the whole real line in x; s and t are provably positive",
                             "the mean of the second density is c x + d with c and d real and free of x; "
                             "m, s, t and y are free of x and real"),
    "gaussian_conditioning": ("s and t are provably positive; x, y, m, c, d are provably real",
                              "the second mean is affine in x (c x + d), and m, s, t, y are free of x",
                              "the joint is divided by a normal density in y (the marginal), as in Bayes' rule"),
}


EVALUATION = "evaluation"  # the last rung: SymPy's own evaluation of sums and integrals, confirmed numerically

_RULES: tuple[RuleInfo, ...] = (
    RuleInfo("algebra", "algebra", "expand, cancel and collect terms (always on)",
             ("arithmetic", "simplification", "rearrange", "expand", "factor", "collect", "distribute")),
    RuleInfo("definition", "definition", "replace a definition from the file by its body",
             ("definitions", "by definition", "substitute definition")),
    RuleInfo("normal_density", "normal density", "N(x; mu, sigma) = exp(-(x - mu)^2 / (2 sigma^2)) / (sqrt(2 pi) sigma)",
             ("gaussian density", "normal pdf", "log of the normal density", "definition of the normal density"),
             ("closed_forms",)),
    RuleInfo("log_rules", "log rules", "log(ab) = log a + log b, log(a/b) = log a - log b, log(a^n) = n log a, "
             "log(exp(a)) = a, for positive a, b and real a",
             ("log", "logarithm", "log of a quotient", "log of a product", "expand log", "combine logs", "log laws")),
    RuleInfo("kl_definition", "definition of KL", "D_KL(q || p) = E_q[log q - log p]",
             ("kl", "definition of kl", "kl divergence", "reverse kl", "forward kl"), ("expectation",)),
    RuleInfo("expectation", "definition of E", "E_q[f] = integral of q f (the sum over z for an abstract q)",
             ("definition of expectation", "expectation as integral", "expectation as sum")),
    RuleInfo("linearity", "linearity of E, Σ and ∫", "E[a f + b g] = a E[f] + b E[g] for constants a, b; "
             "likewise sums over latent values and integrals", ("linearity of expectation", "linearity of e",
             "linearity of integrals", "constants out", "pull out constants", "linear")),
    RuleInfo("normalization", "densities sum to 1", "a density sums (integrates) to 1; "
             "marginalisation: the sum over z of P(z, X) is P(X)",
             ("normalisation", "density integrates to 1", "density sums to 1", "marginalisation", "marginalization"),
             ("linearity",)),
    RuleInfo("bayes", "Bayes' rule", "P(a|b) = P(a, b) / P(b); hence P(z|X) = P(X|z) P(z) / P(X)",
             ("bayes rule", "bayes theorem", "bayes' theorem", "bayes' rule", "conditional probability",
              "chain rule of probability")),
    RuleInfo("gaussian_moments", "Gaussian moments", "integral of x^n exp(-a x^2 + b x + c) over the real line "
             "in closed form (a > 0): E[x] = mu, E[x^2] = mu^2 + sigma^2, ...",
             ("gaussian integral", "gaussian moments", "moments", "density integrates to one",
              "second moment", "variance"), ("normal_density", "log_rules", "expectation")),
    RuleInfo("sum_linearity", "linearity of Σ_j", "sum_j (a_j + b_j) = sum_j a_j + sum_j b_j, sum_{j=1}^J c = c J",
             ("sum", "sum over dimensions", "linearity of sums", "sum rule")),
    RuleInfo("diagonal", "diagonal covariance", "tr diag(v) = sum v_j, det diag(v) = prod v_j, "
             "log prod = sum log, mu^T mu = sum mu_j^2",
             ("trace", "determinant", "diagonal", "trace and determinant")),
    RuleInfo("kl_product", "KL of independent products", "D_KL(prod_j q_j || prod_j p_j) = sum_j D_KL(q_j || p_j)",
             ("independence", "kl of a product", "factorised", "factorized", "per-dimension kl")),
    RuleInfo("log_product", "log of a finite product", "log prod_j f_j = sum_j log f_j",
             ("log prod", "log of prod", "log of the product", "log of a finite product", "log likelihood of independent terms")),
    RuleInfo("product_algebra", "finite products", "prod_j (a_j b_j) = prod_j a_j prod_j b_j, "
             "prod_j exp(g_j) = exp(sum_j g_j), prod_{j=a}^{b} c = c^(b - a + 1), prod_{j=1}^{3} f_j = f_1 f_2 f_3",
             ("product", "products", "prod", "product rules", "product of exponentials", "write out the product")),
    RuleInfo("finite_sums", "closed forms of finite sums", "sum_{j=1}^{J} j = J(J + 1)/2, sum j^2 = J(J + 1)(2J + 1)/6, "
             "sum j^3, arithmetic and geometric sums sum_{j=0}^{J} r^j = (1 - r^(J + 1))/(1 - r)",
             ("closed form", "finite sum", "finite sums", "arithmetic series", "arithmetic sum", "geometric series",
              "geometric sum", "sum of powers", "faulhaber", "gauss sum", "discounted return")),
    RuleInfo("substitution", "substitution", "change of variables x = g(u) in an integral: dx = g'(u) du, limits mapped",
             ("change of variables", "reparameterisation", "reparameterization", "reparametrization")),
    RuleInfo("equation", "same operation on both sides", "an equation follows from the previous one by adding, "
             "subtracting or multiplying both sides by the same thing",
             ("both sides", "subtract from both sides", "add to both sides", "negate both sides",
              "multiply both sides", "rearrange the equation", "move to the other side")),
    # Gaussian algebra (klproof.check.gaussian_rules)
    RuleInfo("closed_forms", "Gaussian closed forms", "exp(a) exp(b) = exp(a + b), sqrt(1/A) = 1/sqrt(A), "
             "sqrt(2 pi s^2) = sqrt(2 pi) s: positive terms compared through their logs",
             ("compare logs", "combine exponentials", "combine exponents", "exponent rules", "gaussian closed form")),
    RuleInfo("last_factor", "the last factor of a product", "f(b + 1) prod_{j=a}^{b} f(j) = prod_{j=a}^{b+1} f(j), "
             "likewise f(b + 1) + sum_{j=a}^{b} f(j): the induction step from t - 1 to t",
             ("induction step", "last factor", "last term", "peel off the last factor", "peel off the last term",
              "recursion", "recursive definition", "from t - 1 to t")),
    RuleInfo("multiple_integrals", "multiple integrals (Fubini)", "c(u) times the integral over v of f, integrated "
             "over u, is the double integral of c(u) f (c free of v); the order of integration over a box can be "
             "swapped where the integrand is nonnegative (Tonelli) or Gaussian-dominated (Fubini)",
             ("fubini", "tonelli", "fubini's theorem", "swap the order of integration", "change the order of integration",
              "exchange the order of integration", "order of integration", "factor out of the inner integral",
              "pull out of the inner integral", "iterated integral", "multiple integral", "double integral",
              "nested integrals")),
    RuleInfo("normal_product", "product of normal densities", "N(x; a, s) N(x; b, t) = N(a; b, sqrt(s^2 + t^2)) "
             "N(x; m, v), m = (a t^2 + b s^2)/(s^2 + t^2), v = s t / sqrt(s^2 + t^2)",
             ("completing the square", "complete the square", "product of normals", "product of gaussians",
              "product of two normal densities", "product of gaussian densities"), ("normal_density",)),
    RuleInfo("gaussian_convolution", "convolution of normal densities", "integral over x of N(x; m, s) "
             "N(y; c x + d, t) = N(y; c m + d, sqrt(c^2 s^2 + t^2)): marginalising a linear-Gaussian chain",
             ("convolution", "gaussian convolution", "convolution of gaussians", "marginalise the middle variable",
              "marginalize the middle variable", "linear gaussian", "linear-gaussian marginal",
              "sum of independent gaussians", "forward marginal"), ("normal_density",)),
    RuleInfo("gaussian_conditioning", "conditioning a joint Gaussian", "N(x; m, s) N(y; c x + d, t) / N(y; c m + d, r) "
             "= N(x; m + c s^2 (y - c m - d)/r^2, s t/r), r = sqrt(c^2 s^2 + t^2)",
             ("conditioning", "gaussian conditioning", "gaussian posterior", "posterior of a linear gaussian",
              "conditional of a joint gaussian", "bayes for gaussians"), ("normal_density",)),
    # rules for bounds (inequality steps; klproof.check.bound_rules)
    RuleInfo("jensen", "Jensen's inequality", "phi(E_q[g]) >= E_q[phi(g)] for concave phi (log, sqrt), "
             "E_q[phi(g)] >= phi(E_q[g]) for convex phi (exp, x^2, -log); also for a finite convex combination",
             ("jensen", "jensens inequality", "jensen inequality", "concavity of log", "concavity", "convexity"),
             conditions=("q is a density (E over N(...) or a declared distribution) or the weights are >= 0 "
                         "and sum to 1", "log: g > 0; sqrt: g >= 0; exp, x^2: g real",
                         "the other side is phi of exactly that expectation (proved by the equality rules)")),
    RuleInfo("gibbs", "Gibbs' inequality (KL ≥ 0)", "D_KL(q || p) >= 0, so a side minus the other that equals a KL "
             "is a bound", ("gibbs inequality", "kl >= 0", "kl is nonnegative", "nonnegativity of kl",
                            "kl nonnegative", "kl divergence is nonnegative"),
             conditions=("q and p are densities over the same variable",)),
    RuleInfo("monotonicity", "monotonicity", "log, exp, sqrt and E_q preserve >=; so do multiplying by a positive "
             "factor and adding the same term to both sides",
             ("monotone", "monotonic", "log is increasing", "exp is increasing", "apply log to both sides",
              "multiply by a positive factor", "add a nonnegative term", "monotonicity of expectation"),
             conditions=("log: both sides positive", "sqrt: the smaller side >= 0", "the factor is positive",
                         "E: the same density on both sides")),
    RuleInfo("log_sum", "log-sum inequality", "sum_i a_i log(a_i / b_i) >= (sum a_i) log(sum a_i / sum b_i)",
             ("log sum inequality", "log-sum inequality"), conditions=("every a_i > 0 and b_i > 0",)),
    RuleInfo("nonnegative_terms", "nonnegative terms", "the difference of the sides is a sum of terms each >= 0: "
             "squares, exp, KL, declared nonnegative quantities, positive × nonnegative, E, Σ and ∫ of such terms",
             ("nonnegative", "squares are nonnegative", "square is nonnegative", "drop a nonnegative term",
              "positive terms", "sum of squares"),
             conditions=("each term's sign is proved from the declared assumptions and intervals",)),
    RuleInfo("intervals", "declared intervals", "a sum that the declared intervals and sets make positive "
             "(1 - p for p in (0, 1), 1 - a b for a, b in (0, 1)) is positive for the other rules; |a| = a where a >= 0",
             ("interval", "domain", "domains", "0 < p < 1"),
             conditions=("the sum is multilinear in symbols with finite declared intervals or sets and positive at "
                         "every corner, or a polynomial in one interval symbol with no root in the interval, or "
                         "factors into such sums", "no symbol of the sum is bound by an integral, "
                         "sum or expectation")),
    RuleInfo("differentiation", "differentiation", "d/dθ f evaluated by the rules of calculus (SymPy's diff), "
             "for f without integrals, sums or expectations inside",
             ("derivative", "differentiate", "chain rule", "product rule", "quotient rule", "take the derivative",
              "calculus", "gradient")),
    RuleInfo("leibniz", "differentiation under the integral sign (Leibniz)",
             "d/dθ ∫ g(x, θ) dx = ∫ d/dθ g(x, θ) dx, d/dθ Σ_j g_j = Σ_j d/dθ g_j, under dominated convergence",
             ("leibniz rule", "leibniz integral rule", "differentiation under the integral sign",
              "differentiate under the integral", "interchange derivative and integral", "dominated convergence",
              "exchange of derivative and expectation", "differentiation under the expectation"),
             ("differentiation",)),
    RuleInfo("reparameterisation_gradient", "reparameterisation gradient",
             "∇_θ E_{z ~ N(m(θ), s(θ))}[f(z, θ)] = E_{ε ~ N(0, 1)}[∇_θ f(m(θ) + s(θ) ε, θ)] (pathwise gradient)",
             ("reparameterization gradient", "reparametrization gradient",
              "reparameterisation trick", "reparameterization trick", "pathwise gradient", "pathwise derivative",
              "pathwise estimator", "reparameterisation estimator", "reparameterization estimator"),
             ("differentiation",)),
    RuleInfo("score_function", "score-function gradient",
             "∇_θ E_{q_θ}[f] = E_{q_θ}[f ∇_θ log q_θ] + E_{q_θ}[∇_θ f] for q_θ = N(z; m(θ), s(θ)); "
             "with f = 1: E_q[∇_θ log q_θ] = ∇_θ ∫ q_θ = 0",
             ("score function", "score function estimator", "score-function estimator", "log-derivative trick",
              "log derivative trick", "reinforce", "likelihood ratio", "likelihood-ratio gradient",
              "score function gradient"),
             ("differentiation",)),
    RuleInfo("simplify", "simplify", "SymPy's simplify on the residual (slow, the last rung)", ()),
    RuleInfo("evaluation", "SymPy's evaluation, confirmed numerically",
             "SymPy evaluates the remaining sums and integrals (integrate, summation); accepted only where the "
             "independent numeric check agrees, as SymPy's integration can drop conditions", ()),
)
RULES: dict[str, RuleInfo] = {r.id: RuleInfo(r.id, r.title, r.statement, r.aliases, r.needs, CONDITIONS.get(r.id, r.conditions))
                              for r in _RULES}


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower().replace("’", "'").replace("'", "")).strip()


_LOOKUP: dict[str, str] = {}
for _rule in RULES.values():
    for _name in (_rule.id, _rule.id.replace("_", " "), _rule.title, *_rule.aliases):
        _LOOKUP[_key(_name)] = _rule.id


def resolve(name: str) -> str:
    """The rule id a justification names; ValueError with a hint if it names none."""
    key = _key(name)
    if key in _LOOKUP:
        return _LOOKUP[key]
    raise ValueError(did_you_mean(key, sorted(_LOOKUP), "known rule",
                                  "`klproof rules` lists every rule with its aliases"))


def resolve_all(by: str | list[str]) -> tuple[str, ...]:
    """A `by` is a rule name, several separated by ',' or '+', or a list of them."""
    parts = by if isinstance(by, list) else re.split(r"[,+;]| and then | then ", by)
    ids: list[str] = []
    for part in parts:
        if not isinstance(part, str):
            raise ValueError("each justification must be a string")
        if part.strip():
            rule = resolve(part)
            if rule not in ids:
                ids.append(rule)
    return tuple(ids)


def with_prerequisites(ids: tuple[str, ...]) -> frozenset[str]:
    out: set[str] = set()
    todo = list(ids)
    while todo:
        rule = todo.pop()
        if rule not in out:
            out.add(rule)
            todo.extend(RULES[rule].needs)
    return frozenset(out)
