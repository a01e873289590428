"""LaTeX input: the source documents' own lines, as written, and LaTeX that must be rejected clearly."""

from __future__ import annotations

import pytest
import sympy as sp

from conftest import derivation_text, read_error
from klproof import vocabulary as C
from klproof.errors import ParseError, Span
from klproof.parse.expr import Scope, parse_expression
from klproof.parse.latex import parse_latex

R = dict(real=True)
SCOPE_000 = Scope(
    symbols={**{n: sp.Symbol(n, **R) for n in ["x", "z", "xi", "mu_1", "mu_2"]},
             **{n: sp.Symbol(n, positive=True) for n in ["sigma_1", "sigma_2"]},
             "j": sp.Symbol("j", integer=True), "J": sp.Symbol("J", positive=True, integer=True)},
    families={"mu": sp.IndexedBase("mu", real=True), "sigma": sp.IndexedBase("sigma", positive=True)},
    distributions={"q": ("z", "xi"), "p": ("z",)})
SCOPE_001 = Scope(symbols={n: sp.Symbol(n, **R) for n in ["x", "z", "X"]},
                  distributions={"P": ("x", "z", "X"), "Q": ("x", "z", "X")})
SCOPE_002 = Scope(symbols={**{n: sp.Symbol(n, **R) for n in ["z", "x", "eps", "mu"]}, "sigma": sp.Symbol("sigma", positive=True)},
                  distributions={"q": ("z", "x"), "p": ("z",)})


def meaning(text: str, scope: Scope):
    """The expected meaning, in klproof's own expression syntax."""
    return parse_expression(text, scope, Span("expected", 1))


def read(latex: str, scope: Scope):
    return parse_latex(latex, scope, Span("t.toml", 7, 10))


# (source line as written, what it means in klproof's syntax)
SOURCE_LINES = [
    # shared/seeds/000_d4526cdaa0de79c4.txt
    (SCOPE_000, r"\int_{-\infty}^\infty \mathrm N_{\mu_1,\sigma_1}(x)\log \mathrm N_{\mu_2,\sigma_2}(x)dx=\int_{-\infty}^\infty \mathrm N_{\mu_1,\sigma_1}(x)\left(-\log(\sqrt{2\pi}\sigma_2)-{{(x-\mu_2)^2}\over {2\sigma_2^2}}\right)dx",
     "Integral(N(x, mu_1, sigma_1)*log(N(x, mu_2, sigma_2)), x) == Integral(N(x, mu_1, sigma_1)*(-log(sqrt(2*pi)*sigma_2) - (x - mu_2)**2/(2*sigma_2**2)), x)"),
    (SCOPE_000, r"=-\log(\sqrt{2\pi}\sigma_2)-\int_{-\infty}^\infty {{(x-\mu_2)^2}\over {2\sigma_2^2}}\mathrm N_{\mu_1,\sigma_1}(x)dx\qquad \cdots(2)",
     "-log(sqrt(2*pi)*sigma_2) - Integral((x - mu_2)**2/(2*sigma_2**2) * N(x, mu_1, sigma_1), x)"),
    (SCOPE_000, r"{1\over 2\sigma_2^2}\left(\int_{-\infty}^\infty x^2\mathrm N_{\mu_1,\sigma_1}(x)dx-2\mu_2\int_{-\infty}^\infty x \mathrm N_{\mu_1,\sigma_1}(x)dx+\mu_2^2\int_{-\infty}^\infty \mathrm N_{\mu_1,\sigma_1}(x)dx\right)",
     "(Integral(x**2*N(x, mu_1, sigma_1), x) - 2*mu_2*Integral(x*N(x, mu_1, sigma_1), x) + mu_2**2*Integral(N(x, mu_1, sigma_1), x))/(2*sigma_2**2)"),
    (SCOPE_000, r"={(\mu_1-\mu_2)^2+\sigma_1^2\over 2\sigma_2^2 } \qquad\cdots(3)",
     "((mu_1 - mu_2)**2 + sigma_1**2)/(2*sigma_2**2)"),
    (SCOPE_000, r"-\log(\sqrt{2\pi}\sigma_2)-{(\mu_1-\mu_2)^2+\sigma_1^2\over 2\sigma_2^2 } \qquad \cdots (4)",
     "-log(sqrt(2*pi)*sigma_2) - ((mu_1 - mu_2)**2 + sigma_1**2)/(2*sigma_2**2)"),
    (SCOPE_000, r"\sum^J_{j=1}\left[\int_{-\infty}^\infty \mathrm N_{\mu_j,\sigma_j}(z)\log \mathrm N_{\mu_j,\sigma_j}(z)d z- \int_{-\infty}^\infty \mathrm N_{\mu_j,\sigma_j}(z)\log \mathrm N_{0,1}(z)d  z\right] \qquad\cdots(5)",
     "Sum(Integral(N(z, mu[j], sigma[j])*log(N(z, mu[j], sigma[j])), z) - Integral(N(z, mu[j], sigma[j])*log(N(z, 0, 1)), z), (j, 1, J))"),
    (SCOPE_000, r"\sum^J_{j=1}\left[\left(-\log(\sqrt{2\pi}\sigma_j)-\frac 1 2  \right)  -\left(-\log(\sqrt{2\pi}) -\frac{\mu_j^2+\sigma_j^2}{2}   \right)\right]",
     "Sum((-log(sqrt(2*pi)*sigma[j]) - 1/2) - (-log(sqrt(2*pi)) - (mu[j]**2 + sigma[j]**2)/2), (j, 1, J))"),
    (SCOPE_000, r"=-\frac 1 2\sum^J_{j=1}\left(1+\log\sigma_j^2  -\mu_j^2-\sigma_j^2   \right)",
     "-Sum(1 + log(sigma[j]**2) - mu[j]**2 - sigma[j]**2, (j, 1, J))/2"),
    # (1) with the data point x^{(i)} declared as the symbol xi and written \mathrm{xi}
    (SCOPE_000, r"\int_{-\infty}^\infty q_{\bm \phi}(\bold z|\mathrm{xi})\log q_{\bm \phi}(\bold z|\mathrm{xi}) d \bold z- \int_{-\infty}^\infty q_{\bm \phi}(\bold z|\mathrm{xi})\log {p_{\bm \theta}(\bold z)} d \bold z\qquad\cdots(1)",
     "Integral(q(z|xi)*log(q(z|xi)), (z, -oo, oo)) - Integral(q(z|xi)*log(p(z)), (z, -oo, oo))"),
    # shared/seeds/001_ffd799093996390d.txt
    (SCOPE_001, r"D_{KL}\left[Q(z|X)\parallel P(z|X)\right] = \sum_{z}Q(z|X)\log\left(\frac{Q(z|X)}{P(z|X)}\right)",
     "KL(Q(z|X), P(z|X)) == Sum(Q(z|X)*log(Q(z|X)/P(z|X)), z)"),
    (SCOPE_001, r"D_{KL}\left[Q(z|X)\parallel P(z|X)\right]-\log P(X)",
     "KL(Q(z|X), P(z|X)) - log(P(X))"),
    # shared/seeds/002_e50f3a6d62a72702.txt
    (SCOPE_002, r"-D_{KL}(q_\phi(z \mid x) \parallel p(z)) = -\mathbb{E}_{z \sim q_\phi(z \mid x)} \left[ \ln \frac{q_\phi(z \mid x)}{p(z)} \right]",
     "-KL(q(z|x), p(z)) == -E(log(q(z|x)/p(z)), q(z|x))"),
    (SCOPE_002, r"&=  - \int \mathcal{N}(\epsilon \mid 0,1) \ln \frac{\mathcal{N}({\color{dodgerblue} z = \mu + \sigma \epsilon} \mid \mu, \sigma)}{\mathcal{N}({\color{dodgerblue} z=\mu+\sigma\epsilon} \mid 0,1)}d\epsilon \\",
     "-Integral(N(eps, 0, 1)*log(N(mu + sigma*eps, mu, sigma)/N(mu + sigma*eps, 0, 1)), eps)"),
    (SCOPE_002, "&=  - \\int\n\\left( \\frac{1}{\\sqrt{2\\pi}} \\, e^{\\,-\\frac{\\epsilon^2}{2}} \\right)\n\\ln \\left( \\cfrac{ \\cfrac{1}{\\sqrt{2\\pi}\\sigma} \\, e^{\\,-\\cfrac{(\\mu+\\sigma \\epsilon-\\mu)^2}{2\\sigma^2}} }\n{\\cfrac{1}{\\sqrt{2\\pi}} \\, e^{\\,-\\cfrac{(\\mu+ \\sigma \\epsilon)^2}{2}} } \\right)d\\epsilon \\\\",
     "-Integral(1/sqrt(2*pi)*exp(-eps**2/2) * log((1/(sqrt(2*pi)*sigma)*exp(-(mu + sigma*eps - mu)**2/(2*sigma**2))) / (1/sqrt(2*pi)*exp(-(mu + sigma*eps)**2/2))), eps)"),
    (SCOPE_002, r"\ln \left( \frac{1}{\sigma} \cdot e^{\frac{(\mu+\sigma \epsilon)^2}{2} - \frac{(\sigma \epsilon)^2}{2\sigma^2} } \right)",
     "log(1/sigma * exp((mu + sigma*eps)**2/2 - (sigma*eps)**2/(2*sigma**2)))"),
    (SCOPE_002, r"-D_{KL}(q_\phi(z \mid x) \parallel p(z)) &=  - \frac{1}{2}\int \left( \frac{1}{\sqrt{2\pi}} \, e^{\,-\frac{(z-\mu)^2}{2\sigma^2}} \right) \left( -\ln (\sigma^2) + z^2 - \frac{(z-\mu)^2}{\sigma^2} \right)(\frac{1}{\sigma})dz \\",
     "-KL(q(z|x), p(z)) == -Integral(1/sqrt(2*pi)*exp(-(z - mu)**2/(2*sigma**2)) * (-log(sigma**2) + z**2 - (z - mu)**2/sigma**2) * (1/sigma), z)/2"),
    (SCOPE_002, r"-\int \mathcal{N}(z \mid \mu, \sigma) \ln \frac{\mathcal{N}(z \mid \mu, \sigma)}{\mathcal{N}(z \mid 0,1)}dz \\",
     "-Integral(N(z, mu, sigma)*log(N(z, mu, sigma)/N(z, 0, 1)), z)"),
    # notation of the field, as klproof exports it
    (SCOPE_002, r"\mathcal{N}(z;\, \mu, \sigma^{2})", "N(z, mu, sigma)"),
    (SCOPE_002, r"\mathbb{E}_{\epsilon \sim \mathcal{N}(0,1)}[\epsilon^2]", "E(eps**2, N(eps, 0, 1))"),
    (SCOPE_002, r"D_{\mathrm{KL}}\left(\mathcal{N}(z;\, \mu, \sigma^{2}) \,\|\, \mathcal{N}(z;\, 0, 1)\right)", "KL(N(z, mu, sigma), N(z, 0, 1))"),
    (SCOPE_000, r"\prod_{j=1}^{J} \mathcal{N}(z_{j};\, \mu_{j}, \sigma_{j}^{2})", "NormalDiag(z, mu[j], sigma[j], (j, 1, J))"),
    (SCOPE_002, r"\exp(-\frac{z^2}{2}) + e + 0.5 \times \mu", "exp(-z**2/2) + exp(1) + mu/2"),
    (SCOPE_002, r"\frac12\sqrt[3]{\sigma}\,\dfrac{\mu}{\tfrac{1}{2}}", "sigma**(1/3) * mu"),
]


@pytest.mark.parametrize("scope, latex, expected", SOURCE_LINES, ids=[f"line{i}" for i in range(len(SOURCE_LINES))])
def test_source_lines_as_written(scope, latex, expected):
    got, want = read(latex, scope), meaning(expected, scope)
    assert got == want


def test_variance_or_standard_deviation_is_read_as_documented():
    s = SCOPE_002.symbols
    normal = lambda a, b, c: C.Normal(a, b, c)  # noqa: E731
    assert read(r"\mathcal{N}(z; \mu, \sigma^2)", SCOPE_002) == normal(s["z"], s["mu"], s["sigma"])  # variance
    assert read(r"\mathcal{N}(z; \mu, \sigma)", SCOPE_002) == normal(s["z"], s["mu"], sp.sqrt(s["sigma"]))  # variance sigma
    assert read(r"\mathcal{N}(z \mid \mu, \sigma)", SCOPE_002) == normal(s["z"], s["mu"], s["sigma"])  # std (the sources)
    assert read(r"\mathcal{N}(z \mid \mu, \sigma^2)", SCOPE_002) == normal(s["z"], s["mu"], s["sigma"])  # a square: variance
    assert read(r"\mathrm N_{\mu,\sigma}(z)", SCOPE_002) == normal(s["z"], s["mu"], s["sigma"])  # std


# (LaTeX, a piece of the expected message)
REJECTED = [
    (SCOPE_001, r"\sum P(X)\log\left(\frac{P(x)}{Q(x)}\right)", "a sum needs its index"),
    (SCOPE_001, r"= E\left[\log Q(z|X) - \log P(z|X)\right]", "E[...] needs the distribution"),
    (SCOPE_001, r"\frac{1}{2}\left[tr(\sigma^2(X))+\mu(X)^T\mu(X)-k-\log \det(\sigma^2(X))\right]", "'tr' reads as the product t r"),
    (SCOPE_000, r"D_{KL}(q_{\bm \phi}(\bold z|\bold x^{(i)})||p_{\bm \theta}(\bold z))", "superscript on a variable"),
    (SCOPE_002, r"\ln \frac{q_\phi({\color{dodgerblue} z=\mu+\sigma\epsilon} \mid x)}{p(z)}", "a value for a variable inside q"),
    (SCOPE_002, r"\frac{1}{2}\foo{z}", "unknown command \\foo"),
    (SCOPE_002, r"\log z \mu", "unclear where its argument ends"),
    (SCOPE_002, r"\mu(z + 1)", "reads as a function application"),
    (SCOPE_002, r"\int z^2 \, z", "expected the differential"),
    (SCOPE_002, r"\mathcal{N}(\mu, \sigma^2)", "does not say which variable"),
    (SCOPE_002, r"\mathcal{N}(z \mid 0, 4)", "ambiguous"),
    (SCOPE_002, r"a + 1", "unknown symbol 'a'"),
    (SCOPE_002, r"\sigma_j", "unknown symbol 'sigma_j'"),
    (SCOPE_002, r"z = \mu = \sigma", "more than one '='"),
    (SCOPE_002, r"\left( z + 1", "never closed"),
    (SCOPE_002, r"z \over \mu", "wrap the fraction in braces"),
    (SCOPE_002, r"z^{2}^{3}", "double superscript"),
    (SCOPE_002, r"z ≤ 1", "not understood"),
    (SCOPE_002, r"z \neq \mu", "\\neq is not supported"),
    (SCOPE_002, r"z \cdots", "\\cdots is not supported"),
    (SCOPE_002, r"\mu 2", "a number right after a factor"),
    (SCOPE_002, r"z^{2000}", "too large"),
    (SCOPE_002, "z + " * 2000 + "z", "the limit is"),
]


@pytest.mark.parametrize("scope, latex, message", REJECTED, ids=[f"bad{i}" for i in range(len(REJECTED))])
def test_rejected_with_a_clear_message(scope, latex, message):
    with pytest.raises(ParseError) as info:
        read(latex, scope)
    text = info.value.render()
    assert message in text
    assert text.startswith("t.toml:7")


def test_error_points_at_the_column_and_the_snippet():
    with pytest.raises(ParseError) as info:
        read(r"\frac{1}{2}\foo{z}", SCOPE_002)
    assert "column 12" in info.value.message and "\\foo" in info.value.message


def test_a_file_with_latex_steps_reports_file_and_line():
    text = derivation_text("x", "x") .replace("[[chain.step]]\nexpr = '''x'''", "[[chain.step]]\nlatex = '\\frac{1}{2} \\bar{x}'")
    error = read_error("f.toml", text.encode())
    rendered = error.render()
    assert rendered.startswith("f.toml:") and "unknown command \\bar" in rendered
    line = int(rendered.split(":")[1])
    assert "latex =" in text.splitlines()[line - 1]
