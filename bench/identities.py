"""A table of textbook identities (KL and entropy tables, moments, finite sums, the VAE and score-function
literature), each with its source, shared by tests/test_identity_table.py and bench/vs_sympy.py.

A row is a claim `lhs == rhs` in klproof's expression syntax, read with the symbols of HEADER. A true row names
the rule expected to close it (`closes`, a rule id of klproof.catalog); every true identity that has a natural
near-miss (a dropped term, a wrong constant, a square for a root) has one, which must never be proved.

Sources (short names used in the rows):
- Gil13: M. Gil, F. Alajaji, T. Linder, "Rényi divergence measures for commonly used univariate continuous
  distributions", Information Sciences 249 (2013), Table 3 (KL divergences).
- WikiKL: Wikipedia, "Kullback–Leibler divergence" (examples: normal, Bernoulli/categorical).
- WikiN, WikiLap, WikiExp, WikiGamma, WikiBern, WikiCat, WikiHalfN: Wikipedia's "Normal distribution", "Laplace
  distribution", "Exponential distribution", "Gamma distribution", "Bernoulli distribution", "Categorical distribution",
  "Half-normal distribution" pages (moments, entropy, moment-generating function).
- KW14: Kingma & Welling, Auto-Encoding Variational Bayes (2014), Appendix B (the Gaussian KL) and C.1
  (Bernoulli decoder).
- Moh20: Mohamed, Rosca, Figurnov, Mnih, "Monte Carlo Gradient Estimation in Machine Learning", JMLR 21 (2020),
  sections 4-5 (score function with zero mean, score-function and pathwise estimators of E[x^2]).
- GR: Gradshteyn & Ryzhik, Table of Integrals, 3.351.3 (int_0^oo x^n e^{-mu x} dx = n! mu^{-n-1}),
  3.461.2-3 (int_0^oo x^{2n} e^{-p x^2} and x^{2n+1} e^{-p x^2}), 3.381.4 (int_0^oo x^{nu-1} e^{-mu x} dx =
  Gamma(nu) mu^{-nu}), 0.121 (sums of powers of integers), 0.112 (geometric sums).
"""

from __future__ import annotations

from dataclasses import dataclass

HEADER = """title = "identity table"

[symbols]
x = "real"
t = "positive"
m = "real"
mu = "real"
mu_1 = "real"
mu_2 = "real"
sigma = "positive"
sigma_1 = "positive"
sigma_2 = "positive"
a = "positive"
b = "positive"
b_1 = "positive"
b_2 = "positive"
d = "positive"
lam = "positive"
lam_2 = "positive"
s = "positive"
p = "in (0, 1)"
q = "in (0, 1)"
y = "in {0, 1}"
eps = "real"
z = "real"
j = "integer"
k = "integer"
J = "positive integer"
K = "positive integer"

[families]
theta = "real"
phi = "real"
"""


@dataclass(frozen=True)
class Row:
    name: str
    source: str
    claim: str  # lhs == rhs, in the expression syntax
    holds: bool
    closes: str = ""  # for a true row: the rule id expected among the rules that proved it
    gap: str = ""  # a true row klproof does not prove (yet): why; it must never be refuted either


def _pair(name: str, source: str, lhs: str, rhs: str, closes: str, near_miss: str | None, gap: str = "") -> list[Row]:
    rows = [Row(name, source, f"{lhs} == {rhs}", True, closes, gap)]
    if near_miss is not None:
        rows.append(Row(name + " (near-miss)", source, f"{lhs} == {near_miss}", False))
    return rows


_S2 = "log(exp(theta[1]) + exp(theta[2]))"  # log of the softmax normaliser over two outcomes

ROWS: tuple[Row, ...] = tuple(r for group in (
    # -- the normal distribution ------------------------------------------------------------------------------
    _pair("KL of two normals", "Gil13; WikiKL", "KL(N(x, mu_1, sigma_1), N(x, mu_2, sigma_2))",
          "log(sigma_2/sigma_1) + (sigma_1**2 + (mu_1 - mu_2)**2)/(2*sigma_2**2) - 1/2", "gaussian_moments",
          "log(sigma_2/sigma_1) + (sigma_1**2 + (mu_1 - mu_2)**2)/(2*sigma_2**2)"),
    _pair("KL of a normal from N(0, 1)", "KW14 App. B", "KL(N(x, mu, sigma), N(x, 0, 1))",
          "(mu**2 + sigma**2 - 1 - log(sigma**2))/2", "gaussian_moments",
          "(mu**2 + sigma**2 + 1 - log(sigma**2))/2"),
    _pair("entropy of a normal", "WikiN", "E(-log(N(x, mu, sigma)), N(x, mu, sigma))",
          "(1 + log(2*pi*sigma**2))/2", "gaussian_moments", "log(2*pi*sigma**2)/2"),
    _pair("cross-entropy of two normals", "WikiKL", "E(-log(N(x, mu_2, sigma_2)), N(x, mu_1, sigma_1))",
          "log(sqrt(2*pi)*sigma_2) + (sigma_1**2 + (mu_1 - mu_2)**2)/(2*sigma_2**2)", "gaussian_moments",
          "log(sqrt(2*pi)*sigma_2) + (sigma_1 - mu_1 + mu_2)**2/(2*sigma_2**2)"),
    _pair("normal mean", "WikiN", "E(x, N(x, mu, sigma))", "mu", "gaussian_moments", "mu + sigma"),
    _pair("normal second moment", "WikiN", "E(x**2, N(x, mu, sigma))", "mu**2 + sigma**2", "gaussian_moments",
          "mu**2 + sigma"),
    _pair("normal third moment", "WikiN", "E(x**3, N(x, mu, sigma))", "mu**3 + 3*mu*sigma**2",
          "gaussian_moments", "mu**3 + mu*sigma**2"),
    _pair("normal fourth central moment", "WikiN", "E((x - mu)**4, N(x, mu, sigma))", "3*sigma**4",
          "gaussian_moments", "sigma**4"),
    _pair("normal moment-generating function", "WikiN", "E(exp(s*x), N(x, mu, sigma))",
          "exp(mu*s + sigma**2*s**2/2)", "gaussian_moments", "exp(mu*s + sigma**2*s**2)"),
    _pair("Gaussian integral", "GR 3.323.2", "Integral(exp(-a*x**2), (x, -oo, oo))", "sqrt(pi/a)",
          "gaussian_moments", "sqrt(pi*a)"),
    # -- the Laplace distribution ---------------------------------------------------------------------------
    _pair("Laplace density normalised", "WikiLap", "E(1, Laplace(x, m, b))", "1", "absolute_value", None),
    _pair("Laplace mean", "WikiLap", "E(x, Laplace(x, m, b))", "m", "absolute_value", "m + b"),
    _pair("Laplace variance", "WikiLap", "E((x - m)**2, Laplace(x, m, b))", "2*b**2", "absolute_value", "b**2"),
    _pair("Laplace mean absolute deviation", "WikiLap", "E(Abs(x - m), Laplace(x, m, b))", "b",
          "absolute_value", "2*b"),
    _pair("Laplace entropy", "WikiLap", "E(-log(Laplace(x, m, b)), Laplace(x, m, b))", "1 + log(2*b)",
          "absolute_value", "log(2*b)"),
    _pair("KL of two Laplace, same location", "Gil13", "KL(Laplace(x, m, b_1), Laplace(x, m, b_2))",
          "log(b_2/b_1) + b_1/b_2 - 1", "absolute_value", "log(b_2/b_1) + b_1/b_2"),
    _pair("KL of two Laplace, locations m and m + d", "Gil13", "KL(Laplace(x, m, b_1), Laplace(x, m + d, b_2))",
          "log(b_2/b_1) + d/b_2 + b_1/b_2*exp(-d/b_1) - 1", "absolute_value",
          "log(b_2/b_1) + d/b_2 + b_1/b_2*exp(-d/b_2) - 1"),
    # -- the exponential distribution -----------------------------------------------------------------------
    _pair("exponential density normalised", "WikiExp", "E(1, Exponential(x, lam))", "1", "exponential_moments",
          None),
    _pair("exponential mean", "WikiExp", "E(x, Exponential(x, lam))", "1/lam", "exponential_moments", "lam"),
    _pair("exponential variance", "WikiExp", "E((x - 1/lam)**2, Exponential(x, lam))", "1/lam**2",
          "exponential_moments", "1/lam"),
    _pair("exponential fifth moment", "WikiExp", "E(x**5, Exponential(x, lam))", "120/lam**5",
          "exponential_moments", "24/lam**5"),
    _pair("exponential entropy", "WikiExp", "E(-log(Exponential(x, lam)), Exponential(x, lam))", "1 - log(lam)",
          "exponential_moments", "1 + log(lam)"),
    _pair("KL of two exponentials", "Gil13; WikiExp", "KL(Exponential(x, lam), Exponential(x, lam_2))",
          "log(lam/lam_2) + lam_2/lam - 1", "exponential_moments", "log(lam_2/lam) + lam_2/lam - 1"),
    _pair("exponential Laplace transform", "WikiExp", "E(exp(-s*x), Exponential(x, lam))", "lam/(lam + s)",
          "exponential_moments", "lam/s"),
    _pair("gamma integral n = 3", "GR 3.351.3", "Integral(x**3*exp(-lam*x), (x, 0, oo))", "6/lam**4",
          "exponential_moments", "6/lam**3"),
    # -- the gamma distribution ---------------------------------------------------------------------------------
    _pair("gamma density normalised", "WikiGamma", "E(1, GammaDist(x, a, b))", "1", "exponential_moments", None),
    _pair("gamma mean", "WikiGamma", "E(x, GammaDist(x, a, b))", "a/b", "exponential_moments", "a/b**2"),
    _pair("gamma variance", "WikiGamma", "E((x - a/b)**2, GammaDist(x, a, b))", "a/b**2", "exponential_moments",
          "a/b"),
    _pair("KL of two gammas, same shape", "Gil13", "KL(GammaDist(x, a, b_1), GammaDist(x, a, b_2))",
          "a*log(b_1/b_2) + a*(b_2 - b_1)/b_1", "exponential_moments", "a*log(b_1/b_2) + a*(b_2 - b_1)/b_2"),
    _pair("gamma integral, power 3/2", "GR 3.381.4", "Integral(x**(3/2)*exp(-lam*x), (x, 0, oo))",
          "3*sqrt(pi)/(4*lam**(5/2))", "exponential_moments", "sqrt(pi)/(2*lam**(5/2))"),
    # -- half-line Gaussian integrals ------------------------------------------------------------------------
    _pair("half Gaussian integral", "GR 3.461.2", "Integral(exp(-x**2/2), (x, 0, oo))", "sqrt(pi/2)",
          "exponential_moments", "sqrt(2*pi)"),
    _pair("half-line first Gaussian moment", "GR 3.461.3", "Integral(x*exp(-a*x**2), (x, 0, oo))", "1/(2*a)",
          "exponential_moments", "1/a"),
    _pair("half-line second Gaussian moment", "GR 3.461.2", "Integral(x**2*exp(-x**2/2), (x, 0, oo))",
          "sqrt(pi/2)", "exponential_moments", "sqrt(pi)"),
    _pair("half-normal mean", "WikiHalfN", "E(Abs(x), N(x, 0, sigma))", "sigma*sqrt(2/pi)", "absolute_value",
          "sigma*sqrt(1/pi)"),
    # -- Bernoulli and categorical ---------------------------------------------------------------------------
    _pair("Bernoulli mean", "WikiBern", "E(x, Bernoulli(x, p))", "p", "expectation", "1 - p"),
    _pair("Bernoulli variance", "WikiBern", "E((x - p)**2, Bernoulli(x, p))", "p*(1 - p)", "expectation", "p**2"),
    _pair("Bernoulli entropy", "WikiBern", "E(-log(Bernoulli(x, p)), Bernoulli(x, p))",
          "-p*log(p) - (1 - p)*log(1 - p)", "expectation", "-p*log(p)"),
    _pair("KL of two Bernoullis", "WikiKL", "KL(Bernoulli(x, p), Bernoulli(x, q))",
          "p*log(p/q) + (1 - p)*log((1 - p)/(1 - q))", "expectation", "p*log(p/q)"),
    _pair("KL of two Bernoullis as a sum over k = 0, 1", "WikiKL",
          "Sum(Bernoulli(k, p)*(log(Bernoulli(k, p)) - log(Bernoulli(k, q))), (k, 0, 1))",
          "p*log(p/q) + (1 - p)*log((1 - p)/(1 - q))", "sum_linearity", "p*log(p/q) + (1 - p)*log(1 - q)"),
    _pair("Bernoulli decoder = binary cross-entropy", "KW14 App. C.1", "-log(Bernoulli(y, p))",
          "-(y*log(p) + (1 - y)*log(1 - p))", "continuous_densities", "-(y*log(p) + y*log(1 - p))"),
    _pair("categorical masses sum to 1", "WikiCat", "E(1, Categorical(x, theta[k], (k, 1, K)))", "1",
          "sum_linearity", None),
    _pair("categorical mean, K = 2", "WikiCat", "E(x, Categorical(x, theta[k], (k, 1, 2)))",
          "(exp(theta[1]) + 2*exp(theta[2]))/(exp(theta[1]) + exp(theta[2]))", "expectation",
          "(2*exp(theta[1]) + exp(theta[2]))/(exp(theta[1]) + exp(theta[2]))"),
    _pair("categorical entropy, K = 2", "WikiCat", "E(-log(Categorical(x, theta[k], (k, 1, 2))), "
          "Categorical(x, theta[k], (k, 1, 2)))",
          f"{_S2} - (theta[1]*exp(theta[1]) + theta[2]*exp(theta[2]))/(exp(theta[1]) + exp(theta[2]))",
          "expectation", f"{_S2} + (theta[1]*exp(theta[1]) + theta[2]*exp(theta[2]))/(exp(theta[1]) + exp(theta[2]))"),
    _pair("KL of two categoricals, K = 2", "WikiKL",
          "KL(Categorical(x, theta[k], (k, 1, 2)), Categorical(x, phi[k], (k, 1, 2)))",
          f"Sum(exp(theta[j])/(exp(theta[1]) + exp(theta[2]))*(theta[j] - phi[j] - {_S2} "
          "+ log(exp(phi[1]) + exp(phi[2]))), (j, 1, 2))", "expectation",
          "Sum(exp(theta[j])/(exp(theta[1]) + exp(theta[2]))*(theta[j] - phi[j]), (j, 1, 2))"),
    # -- finite sums ------------------------------------------------------------------------------------------
    _pair("sum of the first J integers", "GR 0.121.1", "Sum(j, (j, 1, J))", "J*(J + 1)/2", "finite_sums",
          "J**2/2"),
    _pair("sum of the first J squares", "GR 0.121.2", "Sum(j**2, (j, 1, J))", "J*(J + 1)*(2*J + 1)/6",
          "finite_sums", "J*(J + 1)*(2*J + 1)/3"),
    _pair("sum of the first J odd numbers", "GR 0.121", "Sum(2*j - 1, (j, 1, J))", "J**2", "finite_sums",
          "J**2 - 1"),
    _pair("diagonal Gaussian KL, k = 3", "KW14 App. B",
          "KL(NormalDiag(z, mu_1*j, sigma_1*j, (j, 1, 3)), NormalDiag(z, 0, 1, (j, 1, 3)))",
          "Sum((mu_1**2*j**2 + sigma_1**2*j**2 - 1 - log(sigma_1**2*j**2))/2, (j, 1, 3))", "kl_product",
          None),  # no near-miss: the sampler does no quadrature over a 3-dimensional diagonal Gaussian
    _pair("diagonal Gaussian KL, k = 3, per dimension", "KW14 App. B",
          "Sum(KL(N(z, mu_1*j, sigma_1*j), N(z, 0, 1)), (j, 1, 3))",
          "Sum((mu_1**2*j**2 + sigma_1**2*j**2 - 1 - log(sigma_1**2*j**2))/2, (j, 1, 3))", "gaussian_moments",
          "Sum((mu_1**2*j**2 + sigma_1**2*j**2 - 1 - log(sigma_1**2))/2, (j, 1, 3))"),
    _pair("sum of the first J cubes", "GR 0.121.3", "Sum(j**3, (j, 1, J))", "J**2*(J + 1)**2/4", "finite_sums",
          "J**2*(J + 1)**2/2"),
    _pair("geometric sum, 6 terms written out", "GR 0.112", "Sum(q**j, (j, 0, 5))", "(1 - q**6)/(1 - q)",
          "sum_linearity", "(1 - q**5)/(1 - q)"),
    _pair("geometric sum, J + 1 terms", "GR 0.112", "Sum(q**j, (j, 0, J))", "(1 - q**(J + 1))/(1 - q)", "finite_sums",
          "(1 - q**J)/(1 - q)"),  # the one-liner does not prove it: SymPy's answer is a Piecewise on q = 1
    # -- integrals a notebook user leaves to SymPy -------------------------------------------------------------
    _pair("nested Gaussian integral", "GR 3.323.2", "Integral(Integral(exp(-x**2 - z**2), (x, -oo, oo)), "
          "(z, -oo, oo))", "pi", "gaussian_moments", None),  # no near-miss: the sampler leaves nested quadrature
    _pair("a change of variables found without `substitute`", "GR 3.351.3",
          "Integral((x - 1)*exp(1 - x), (x, 1, oo))", "1", "exponential_moments", "exp(-1)"),
    _pair("normal mean absolute deviation", "WikiN", "E(Abs(x - mu), N(x, mu, sigma))", "sigma*sqrt(2/pi)",
          "absolute_value", "sigma*sqrt(1/pi)"),
    _pair("arctangent integral", "GR 2.141", "Integral(1/(1 + x**2), (x, 0, 1))", "pi/4", "evaluation",
          "pi/2"),  # no rule: SymPy's integrate, confirmed by the numeric check
    _pair("Cauchy density normalised", "Wikipedia, Cauchy distribution", "Integral(1/(pi*(1 + x**2)), "
          "(x, -oo, oo))", "1", "", None, gap="SymPy evaluates it (atan), but the numeric check that must "
          "confirm the evaluation rung does no quadrature of an integrand with polynomial tails"),
    # -- the VAE and score-function literature ---------------------------------------------------------------
    _pair("the score has mean zero", "Moh20 sec. 4.3.1", "E((x - mu)/sigma**2, N(x, mu, sigma))", "0",
          "gaussian_moments", "1/sigma"),
    _pair("score-function estimator of d/dmu E[x^2]", "Moh20 sec. 4",
          "E(x**2*(x - mu)/sigma**2, N(x, mu, sigma))", "2*mu", "gaussian_moments", "mu"),
    _pair("score-function estimator of d/dsigma E[x^2]", "Moh20 sec. 4",
          "E(x**2*((x - mu)**2/sigma**3 - 1/sigma), N(x, mu, sigma))", "2*sigma", "gaussian_moments", "sigma"),
    _pair("pathwise (reparameterised) E[z^2]", "KW14 sec. 2.4; Moh20 sec. 5",
          "E((mu + sigma*eps)**2, N(eps, 0, 1))", "mu**2 + sigma**2", "gaussian_moments", "mu**2 + sigma"),
    _pair("expected Gaussian prior log-density", "KW14 App. B", "E(log(N(z, 0, 1)), N(z, mu, sigma))",
          "-(mu**2 + sigma**2)/2 - log(2*pi)/2", "gaussian_moments", "-(mu**2 + sigma**2)/2"),
) for r in group)


def derivation_text(row: Row) -> str:
    """A one-claim derivation file for the row."""
    return HEADER + "\n[[chain]]\n" + f"start = '''{row.claim}'''\n"
