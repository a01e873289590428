"""Derivatives and gradient estimators (issue 14, item 1): both syntaxes, the binder, the rules and their
side conditions, the numeric meaning. True identities are proved; false near-misses are refuted (or left
unknown), never proved; a derivative moved under E or ∫ without its side condition leaves the step unknown
and says which condition."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from klproof import vocabulary as C
from klproof.check.decide import Options, check_step
from klproof.errors import ParseError, Span
from klproof.parse.expr import parse_expression
from klproof.parse.file import read_derivation
from klproof.parse.latex import parse_latex
from klproof.verdict import Status
from klproof.vocabulary.binders import canonical, subst

from conftest import read_error, run_cli
from test_kernel_binders import derivation

NOT_PROVED = {Status.REFUTED, Status.UNKNOWN, Status.NUMERIC, Status.ERROR}
SCORE = "Derivative(log(N(z, mu, sigma)), mu)"


def verdict(start: str, expr: str, by: str = "", numeric: bool = True, **kw):
    text = derivation(start, expr, by=by, **kw)
    (step,) = read_derivation("grad.toml", text.encode()).steps
    return check_step(step, Options(numeric=numeric))


# (case, start, expr, by): true identities, each proved
TRUE_STEPS = [
    ("power rule", "Derivative(mu**2, mu)", "2*mu", "differentiation"),
    ("diff with an order", "diff(x**3, x, 2)", "6*x", "differentiation"),
    ("Derivative with (x, 2)", "Derivative(x**3, (x, 2))", "6*x", "differentiation"),
    ("grad of a log", "grad(log(sigma), sigma)", "1/sigma", "differentiation"),
    ("chain rule", "Derivative(exp(mu*x), mu)", "x*exp(mu*x)", "chain rule"),
    ("nested derivatives", "Derivative(Derivative(mu**3, mu), mu)", "6*mu", "differentiation"),
    ("the other symbols are constants", "Derivative(mu*sigma**2 + x, mu)", "sigma**2", "differentiation"),
    ("d/dmu E[z^2] = 2 mu", "Derivative(E(z**2, N(z, mu, sigma)), mu)", "2*mu", "differentiation, Gaussian moments"),
    ("d/dsigma E[z^2] = 2 sigma", "Derivative(E(z**2, N(z, mu, sigma)), sigma)", "2*sigma",
     "differentiation, Gaussian moments"),
    ("pathwise gradient", "Derivative(E(z**2, N(z, mu, sigma)), mu)",
     "E(Derivative((mu + sigma*eps)**2, mu), N(eps, 0, 1))", "reparameterisation gradient"),
    ("pathwise gradient in sigma", "Derivative(E(z**3, N(z, mu, sigma)), sigma)",
     "E(Derivative((mu + sigma*eps)**3, sigma), N(eps, 0, 1))", "pathwise gradient"),
    ("pathwise gradient, exp(z): Gaussian-dominated", "Derivative(E(exp(z), N(z, mu, sigma)), mu)",
     "E(exp(mu + sigma*eps), N(eps, 0, 1))", "reparameterisation gradient, differentiation"),
    ("pathwise gradient, sin(z): bounded derivative, Gaussian-dominated", "Derivative(E(sin(z), N(z, mu, sigma)), mu)",
     "E(cos(mu + sigma*eps), N(eps, 0, 1))", "reparameterisation gradient, differentiation"),
    ("score function, z sin(z)", "Derivative(E(z*sin(z), N(z, mu, sigma)), mu)",
     f"E(z*sin(z)*{SCORE}, N(z, mu, sigma))", "score function"),
    ("score function", "Derivative(E(z**2, N(z, mu, sigma)), mu)",
     f"E(z**2*{SCORE}, N(z, mu, sigma))", "score function"),
    ("score function with the E[d f] term", "Derivative(E(mu*z, N(z, mu, sigma)), mu)",
     f"E(mu*z*{SCORE}, N(z, mu, sigma)) + E(z, N(z, mu, sigma))", "score function, differentiation"),
    ("the score has mean zero", f"E(z + {SCORE}, N(z, mu, sigma))", "mu",
     "differentiation, normal density, Gaussian moments"),
    ("Leibniz over the real line", "Derivative(Integral(x**2*N(x, mu, sigma), x), mu)",
     "Integral(Derivative(x**2*N(x, mu, sigma), mu), x)", "Leibniz"),
    ("Leibniz over finite limits", "Derivative(Integral(exp(-x*mu), (x, 0, 1)), mu)",
     "Integral(-x*exp(-x*mu), (x, 0, 1))", "Leibniz, differentiation"),
    ("Leibniz over a finite sum", "Derivative(Sum(j*mu**2, (j, 1, J)), mu)", "2*mu*Sum(j, (j, 1, J))",
     "Leibniz, differentiation"),
    ("the total mass does not move", "Derivative(Integral(N(z, mu, sigma), z), mu) + mu", "mu",
     "Leibniz, normal density, Gaussian moments"),
    ("VAE: d/dmu KL(N(mu, sigma^2) || N(0, 1)) = mu", "Derivative(KL(N(z, mu, sigma), N(z, 0, 1)), mu)", "mu",
     "definition of KL, reparameterisation gradient, Gaussian moments"),
    ("VAE: d/dsigma of the KL", "Derivative(KL(N(z, mu, sigma), N(z, 0, 1)), sigma)", "sigma - 1/sigma",
     "definition of KL, reparameterisation gradient, Gaussian moments"),
    ("the score of a normal in its scale", "Derivative(log(N(x, mu, sigma)), sigma)", "(x - mu)**2/sigma**3 - 1/sigma",
     "normal density, differentiation"),
    ("a Bernoulli mean's gradient", "Derivative(E(x**2 + 3*x, Bernoulli(x, p)), p)", "4", "definition of E, differentiation"),
    ("the Bernoulli score-function identity", "Derivative(E(x, Bernoulli(x, p)), p)",
     "E(x*Derivative(log(Bernoulli(x, p)), p), Bernoulli(x, p))", "definition of E, differentiation"),
    # binders: the derivative's variable against E's and a declaration
    ("a derivative by E's own variable", "E(Derivative(z**2, z), N(z, mu, sigma))", "2*mu",
     "differentiation, Gaussian moments"),
    ("the mean and the derivative share mu", "Derivative(E(mu*z, N(z, mu, sigma)), mu)", "2*mu",
     "reparameterisation gradient, Gaussian moments"),
    ("|mu| for mu declared positive", "Derivative(Abs(w), w)", "1", "differentiation"),
    ("d/dx of an integral over its own x: a constant", "Derivative(Integral(x**2*N(x, mu, 1), x), x)", "0",
     "differentiation, Gaussian moments"),
    ("d/dx inside the integral over x", "Integral(Derivative(x**2, x)*N(x, mu, 1), x)", "2*mu",
     "differentiation, Gaussian moments"),
    ("the same derivative on both sides cancels", "Derivative(E(z**4, N(z, mu, sigma)), mu) + 1",
     "1 + Derivative(E(z**4, N(z, mu, sigma)), mu)", ""),
]

# (case, start, expr, by): false near-misses, never proved (refuted where a witness exists)
FALSE_STEPS = [
    ("wrong sign", "Derivative(mu**2, mu)", "-2*mu", "differentiation", True),
    ("missing chain-rule factor", "Derivative(exp(mu*x), mu)", "exp(mu*x)", "chain rule", True),
    ("sigma where sigma^2 belongs", "Derivative(E(z**2, N(z, mu, sigma)), sigma)", "2*sigma**2",
     "differentiation, Gaussian moments", True),
    ("second derivative taken as the first", "Derivative(x**3, (x, 2))", "3*x**2", "differentiation", True),
    ("score function without the grad log q factor", "Derivative(E(z**2, N(z, mu, sigma)), mu)",
     "E(z**2, N(z, mu, sigma))", "score function", True),
    ("score function missing E[d f] when f depends on mu", "Derivative(E(mu*z, N(z, mu, sigma)), mu)",
     f"E(mu*z*{SCORE}, N(z, mu, sigma))", "score function", True),
    ("the derivative passed through E unchanged", "Derivative(E(z**2, N(z, mu, sigma)), mu)",
     "E(Derivative(z**2, mu), N(z, mu, sigma))", "Leibniz", True),
    ("pathwise with the wrong variable", "Derivative(E(z**2, N(z, mu, sigma)), mu)",
     "E(Derivative((mu + sigma*eps)**2, eps), N(eps, 0, 1))", "reparameterisation gradient", True),
    ("pathwise with sigma^2 as the scale", "Derivative(E(z**2, N(z, mu, sigma)), sigma)",
     "E(Derivative((mu + sigma**2*eps)**2, sigma), N(eps, 0, 1))", "reparameterisation gradient", True),
    ("Leibniz where the limits depend on mu", "Derivative(Integral(exp(-x*mu), (x, 0, mu)), mu)",
     "Integral(-x*exp(-x*mu), (x, 0, mu))", "Leibniz", True),
    ("pathwise gradient of sin without the chain rule's cos", "Derivative(E(sin(z), N(z, mu, sigma)), mu)",
     "E(sin(mu + sigma*eps), N(eps, 0, 1))", "reparameterisation gradient, differentiation", True),
    ("the KL's sigma-gradient with the wrong sign", "Derivative(KL(N(z, mu, sigma), N(z, 0, 1)), sigma)",
     "sigma + 1/sigma", "definition of KL, reparameterisation gradient, Gaussian moments", True),
    ("the outer x confused with the integral's x", "Derivative(Integral(x**2*N(x, mu, 1), x), x)", "2*x",
     "differentiation, Gaussian moments", True),
    ("the point confused with the variable", "Derivative(mu**2, mu) + Derivative(x**2, x)", "2*mu + 2*mu",
     "differentiation", True),
]


@pytest.mark.parametrize("case,start,expr,by", TRUE_STEPS, ids=[c[0] for c in TRUE_STEPS])
def test_true_derivative_steps_are_proved(case, start, expr, by):
    result = verdict(start, expr, by, numeric=False, symbols={"w": "positive", "p": "in (0, 1)"})
    assert result.status is Status.PROVED, (case, result.method, result.detail)


@pytest.mark.parametrize("case,start,expr,by,refutable", FALSE_STEPS, ids=[c[0] for c in FALSE_STEPS])
def test_false_derivative_steps_are_refuted(case, start, expr, by, refutable):
    result = verdict(start, expr, by)
    assert result.status in NOT_PROVED, (case, result.method, result.detail)
    if refutable:
        assert result.status is Status.REFUTED and result.witness is not None, (case, result.status, result.detail)


# -- side conditions that cannot be shown: unknown, with the reason ---------------------------

@pytest.mark.parametrize("start,expr,by,rule", [
    ("Derivative(E(log(1 + z**2), N(z, mu, sigma)), mu)",
     "E(Derivative(log(1 + (mu + sigma*eps)**2), mu), N(eps, 0, 1))", "reparameterisation gradient",
     "reparameterisation gradient"),
    ("Derivative(E(Abs(z), N(z, mu, sigma)), mu)", f"E(Abs(z)*{SCORE}, N(z, mu, sigma))", "score function",
     "score-function gradient"),
    # over a half line; exp(-x*w) alone would be evaluated first by 'exponential moments' (then no Leibniz is needed)
    ("Derivative(Integral(exp(-x*w)/(1 + x**2), (x, 0, oo)), w)", "Integral(-x*exp(-x*w)/(1 + x**2), (x, 0, oo))",
     "Leibniz", "differentiation under the integral sign (Leibniz)"),
    ("Derivative(Integral(exp(-x*mu), (x, 0, mu)), mu)", "Integral(-x*exp(-x*mu), (x, 0, mu)) + exp(-mu**2)",
     "Leibniz", "differentiation under the integral sign (Leibniz)"),
])
def test_a_side_condition_not_shown_leaves_the_step_unknown_and_names_it(start, expr, by, rule):
    result = verdict(start, expr, by, numeric=False, symbols={"w": "positive"})
    assert result.status is Status.UNKNOWN, (result.status, result.detail)
    assert f"the rule '{rule}' did not apply: its side condition" in result.detail, result.detail


def test_a_true_step_beyond_the_dominated_class_is_never_refuted():
    """log(1 + z^2) is dominated in truth, but not in the class klproof can show: unknown or numeric, never
    refuted (the finite differences of quadrature carry their error bound)."""
    result = verdict("Derivative(E(log(1 + z**2), N(z, mu, sigma)), mu)",
                     "E(Derivative(log(1 + (mu + sigma*eps)**2), mu), N(eps, 0, 1))", "reparameterisation gradient")
    assert result.status in (Status.UNKNOWN, Status.NUMERIC), (result.status, result.detail)
    assert "dominated convergence" in result.detail


# -- the binder -------------------------------------------------------------------------------

MU, A, T = sp.Symbol("mu", real=True), sp.Symbol("a", real=True), sp.Dummy("mu", real=True)


def test_the_point_is_free_and_the_variable_bound():
    d = C.DerivativeAt(T**2 * A, T, MU, sp.Integer(1))
    assert d.free_symbols == {MU, A}
    moved = subst(d, {MU: A + 1})  # the point moves; the variable does not become 'a + 1'
    assert moved.point == A + 1 and moved.variable.is_Symbol and moved.free_symbols == {A}
    captured = subst(d, {A: MU})  # the body's a becomes the free mu, never the bound variable
    assert canonical(captured).free_symbols == {MU}
    other = sp.Dummy("mu", real=True)  # alpha-equivalent: the same canonical object
    assert canonical(C.DerivativeAt(T**2, T, MU, sp.Integer(1))) == canonical(
        C.DerivativeAt(other**2, other, MU, sp.Integer(1)))
    assert canonical(C.DerivativeAt(T**2, T, MU, sp.Integer(1))) != canonical(
        C.DerivativeAt(T**2, T, A, sp.Integer(1)))  # another point is another value


@pytest.mark.parametrize("start,expr,provable", [
    ("g(mu)", "2*mu**2", True),  # d/dmu (a mu^2) at a = mu: 2 a mu = 2 mu^2
    ("g(mu)", "3*mu**2", False),  # the capturing reading d/dmu mu^3
    ("g(x + 1)", "2*(x + 1)*mu", True),
])
def test_a_definition_argument_is_never_captured_by_the_derivative(start, expr, provable):
    result = verdict(start, expr, "definition, differentiation", definitions={"g(a)": "Derivative(a*mu**2, mu)"})
    assert result.status is (Status.PROVED if provable else Status.REFUTED), (result.status, result.detail)


def test_a_file_declaration_reaches_the_variable_only_where_the_neighbourhood_keeps_it():
    # positive: an open set, so |u| = u near the point and d|u|/du = 1 is proved
    assert verdict("Derivative(Abs(w), w)", "1", numeric=False, symbols={"w": "positive"}).status is Status.PROVED
    # nonnegative: not open (no derivative of |u| at 0): never proved
    result = verdict("Derivative(Abs(u), u)", "1", symbols={"u": "nonnegative"})
    assert result.status in NOT_PROVED


@pytest.mark.parametrize("expr,message", [
    ("Sum(Derivative(j**2, j), (j, 1, J))", "cannot differentiate with respect to 'j': it is an integer"),
    ("Derivative(mu**2, K)", "cannot differentiate with respect to 'K': it is an integer"),
    ("Derivative(mu**2, 2*mu)", "a derivative is taken with respect to a variable, not '2*mu'"),
    ("Derivative(mu**2, m[j])", "a derivative is taken with respect to a variable"),
    ("Derivative(mu**2, (mu, 0))", "the order of a derivative must be a whole number from 1 to 6"),
    ("diff(mu**2, mu, 99)", "the order of a derivative must be a whole number from 1 to 6"),
    ("diff(mu**2, mu, mu)", "the order of a derivative must be a whole number"),
    ("grad(mu**2)", "grad() takes 2 or 3 arguments"),
    ("Derivative(mu**2, nu)", "unknown symbol 'nu'"),
    ("Derivative(Derivative(Derivative(mu**2, (mu, 6)), (mu, 6)), mu)", "nested derivatives of total order above 12"),
    # d eps/dz where the text defines eps = (z - mu)/sigma: the symbols are independent, so this would be 0
    ("Derivative(eps, z)", "'eps' is an independent symbol, so its derivative with respect to 'z' would be 0"),
])
def test_derivatives_by_what_is_not_a_real_variable_are_refused(expr, message):
    error = read_error("grad.toml", derivation(expr, "0").encode())
    assert isinstance(error, ParseError) and message in error.message, error
    assert error.span.line > 0 and error.hint


# -- LaTeX --------------------------------------------------------------------------------------

def _scope():
    from klproof.parse.build import Scope

    return Scope(symbols={**{n: sp.Symbol(n, real=True) for n in ("mu", "x", "z", "eps")},
                          "sigma": sp.Symbol("sigma", positive=True), "j": sp.Symbol("j", integer=True)})


@pytest.mark.parametrize("latex,meaning", [
    (r"\frac{d}{d\mu} \mu^2", "Derivative(mu**2, mu)"),
    (r"\frac{\partial}{\partial \mu} \mu^2 \sigma + 1", "Derivative(mu**2*sigma, mu) + 1"),
    (r"\frac{\partial \mu^2}{\partial \mu}", "Derivative(mu**2, mu)"),
    (r"\frac{\mathrm{d} \mu^2}{\mathrm{d}\mu}", "Derivative(mu**2, mu)"),
    (r"\frac{d^2}{d\mu^2} \mu^3", "Derivative(mu**3, (mu, 2))"),
    (r"\frac{\partial}{\partial \mu} \left(\mu^2\right)", "Derivative(mu**2, mu)"),
    (r"\nabla_\mu \mathbb{E}_{z \sim \mathcal{N}(\mu, \sigma^2)}[z^2]", "Derivative(E(z**2, N(z, mu, sigma)), mu)"),
    (r"\nabla_{\sigma} \mathbb{E}_{z \sim \mathcal{N}(\mu, \sigma^2)}\left[z^2\right] = 2\sigma",
     "Derivative(E(z**2, N(z, mu, sigma)), sigma) == 2*sigma"),
    (r"\mathbb{E}_{\epsilon \sim \mathcal{N}(0, 1)}\left[\nabla_\mu (\mu + \sigma \epsilon)^2\right]",
     "E(Derivative((mu + sigma*eps)**2, mu), N(eps, 0, 1))"),
    (r"\frac{d}{d\mu} \sin \mu", "Derivative(sin(mu), mu)"),
    (r"\frac{1}{2}", "1/2"),  # an ordinary fraction stays one
])
def test_latex_derivatives_mean_what_the_expression_syntax_says(latex, meaning):
    got = parse_latex(latex, _scope(), Span("t.toml", 3, 1))
    assert got == parse_expression(meaning, _scope(), Span("expected", 1))


@pytest.mark.parametrize("latex,message", [
    (r"\frac{d}{dj} j^2", "cannot differentiate with respect to 'j': it is an integer"),
    (r"\frac{d^2}{d\mu} \mu^3", "the orders of d in the numerator and the denominator differ"),
    (r"\nabla \mu^2", "\\nabla needs its variable as a subscript"),
    (r"\frac{d}{d\mu}", "the derivative has nothing to act on"),
    (r"\frac{\partial}{\partial \nu} \mu", "unknown variable 'nu'"),
    (r"\frac{d^6}{d\mu^6} \frac{d^6}{d\mu^6} \nabla_\mu \mu^2", "nested derivatives of total order above 12"),
    (r"\frac{d\epsilon}{dz}", "'eps' is an independent symbol, so its derivative with respect to 'z' would be 0"),
])
def test_latex_derivatives_that_cannot_be_read_say_why(latex, message):
    with pytest.raises(ParseError) as info:
        parse_latex(latex, _scope(), Span("t.toml", 3, 1))
    assert message in info.value.message


def test_a_derivation_in_latex_is_checked_like_its_expression_twin():
    text = derivation("x", "x").replace("start = '''x'''", r"latex = '\nabla_\mu \mathbb{E}_{z \sim \mathcal{N}(\mu, \sigma^2)}[z^2]'")
    text = text.replace("expr = '''x'''", "latex = '2\\mu'")
    (step,) = read_derivation("grad.toml", text.encode()).steps
    assert check_step(step, Options(numeric=False)).status is Status.PROVED


# -- printing -----------------------------------------------------------------------------------

def test_a_derivative_prints_as_written_in_text_and_latex():
    from klproof.printing import show
    from klproof.report.latex import sympy_latex

    d = parse_expression("Derivative(mu**2*sigma, mu)", _scope(), Span("t", 1))
    assert show(d) == "Derivative(mu**2*sigma, mu)"
    assert sympy_latex(d) == r"\frac{\partial}{\partial \mu} \left(\mu^{2} \sigma\right)"
    second = parse_expression("Derivative(mu**3, (mu, 2))", _scope(), Span("t", 1))
    assert show(second) == "Derivative(mu**3, (mu, 2))"
    assert sympy_latex(second) == r"\frac{\partial^{2}}{\partial \mu^{2}} \left(\mu^{3}\right)"
    moved = subst(d, {sp.Symbol("mu", real=True): sp.Integer(3)})
    assert show(moved) == "Derivative(mu**2*sigma, mu)(mu = 3)"
    assert sympy_latex(moved).endswith(r"\right|_{\mu = 3}")


def test_every_derivative_form_renders_with_katex():
    import json
    import shutil
    import subprocess

    from klproof.report.latex import sympy_latex
    from conftest import ROOT

    katex = ROOT / ".katex" / "node_modules" / "katex"
    if not katex.exists() or shutil.which("node") is None:
        pytest.skip("KaTeX is not installed (npm install --prefix .katex katex)")
    mu = sp.Symbol("mu", real=True)
    forms = [parse_expression(text, _scope(), Span("t", 1)) for text in (
        "Derivative(mu**2*sigma, mu)", "Derivative(mu**3, (mu, 2))", "Derivative(E(z**2, N(z, mu, sigma)), mu)**2",
        "E(Derivative((mu + sigma*eps)**2, mu), N(eps, 0, 1))**2")]
    forms.append(subst(forms[0], {mu: sp.Integer(3)}))  # evaluated at another point: \left. ... \right|_{mu = 3}
    formulas = [{"tex": sympy_latex(f), "display": True} for f in forms]
    result = subprocess.run(["node", str(ROOT / "tests" / "katex" / "render.js")], input=json.dumps(formulas),
                            capture_output=True, text=True, timeout=60,
                            env={"KLPROOF_KATEX": str(katex), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0 and json.loads(result.stdout) == [], (result.stdout, result.stderr)


# -- the numeric meaning --------------------------------------------------------------------------

def test_derivatives_nested_beyond_the_numeric_budget_are_not_evaluated():
    """Each nested derivative multiplies the working digits by its order + 1: beyond a budget the sampler
    says so at once instead of running for minutes; the step is never proved for it."""
    nested = "Derivative(Derivative(Derivative(Derivative(exp(mu**2), (mu, 2)), (mu, 2)), (mu, 2)), (mu, 2))"
    result = verdict(nested, "0")  # within the readers' total order (8 of 12), beyond the sampler's budget
    assert result.status is Status.UNKNOWN and "derivatives nested too deeply" in result.detail, result.detail


def test_a_kink_has_no_derivative_numerically():
    """d|u|/du at u = 0 does not exist: the point is undefined for the sampler, never a witness."""
    from klproof.check.numeric import compare
    from klproof.check.semantics import Model, World
    from klproof.check.quadrature import Undefined

    u = sp.Symbol("u", real=True)
    d = C.DerivativeAt(sp.Abs(T), T, u, sp.Integer(1))
    world = World({u: sp.Integer(0)}, Model({}, {}), lambda item: sp.Integer(0))
    with pytest.raises(Undefined):
        compare(d, sp.Integer(1), world, 30)
    away = World({u: sp.Integer(2)}, Model({}, {}), lambda item: sp.Integer(0))
    assert compare(d, sp.Integer(1), away, 30).status == "zero"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(-3, 3), min_size=1, max_size=4), st.sampled_from(["mu", "sigma"]))
def test_pathwise_and_score_function_gradients_agree_with_each_other_for_polynomials(coeffs, theta):
    """For a random polynomial f, both estimators' expectations are proved equal to the gradient, and a
    wrong gradient (one more than it) is refuted."""
    f = " + ".join(f"({c})*z**{k}" for k, c in enumerate(coeffs))
    moved = f.replace("z", "(mu + sigma*eps)")
    lhs = f"Derivative(E({f}, N(z, mu, sigma)), {theta})"
    pathwise = f"E(Derivative({moved}, {theta}), N(eps, 0, 1))"
    score = f"E(({f})*Derivative(log(N(z, mu, sigma)), {theta}), N(z, mu, sigma))"
    for rhs, by in ((pathwise, "reparameterisation gradient"), (score, "score function")):
        assert verdict(lhs, rhs, by, numeric=False).status is Status.PROVED
    assert verdict(pathwise, score, "differentiation, normal density, Gaussian moments", numeric=False).status \
        is Status.PROVED
    assert verdict(lhs, f"{pathwise} + 1", by="reparameterisation gradient").status is Status.REFUTED



@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(-3, 3), min_size=2, max_size=4), st.fractions(-2, 2, max_denominator=4),
       st.fractions(1, 3, max_denominator=4))
def test_the_pathwise_rule_agrees_with_the_numeric_derivative(coeffs, mu_value, sigma_value):
    """The rule's result, evaluated by the independent semantics, matches finite differences of the quadrature
    of E: the two meanings of the derivative agree far below the difference a wrong gradient makes."""
    from klproof.check.numeric import compare
    from klproof.check.semantics import Model, World

    f = " + ".join(f"({c})*z**{k}" for k, c in enumerate(coeffs))
    scope = _scope()
    lhs = parse_expression(f"Derivative(E({f}, N(z, mu, sigma)), mu)", scope, Span("t", 1))
    rhs = parse_expression(f"E(Derivative({f.replace('z', '(mu + sigma*eps)')}, mu), N(eps, 0, 1))", scope,
                           Span("t", 1))
    values = {scope.symbols["mu"]: sp.Rational(mu_value.numerator, mu_value.denominator),
              scope.symbols["sigma"]: sp.Rational(sigma_value.numerator, sigma_value.denominator)}
    outcome = compare(lhs, rhs, World(values, Model({}, {}), lambda item: sp.Integer(0)), 30)
    scale = 1 + max(abs(outcome.lhs), abs(outcome.rhs))  # the gradient may be 0 at the point
    assert outcome.status != "nonzero" and abs(outcome.difference) < 1e-8 * scale, (outcome.status, outcome.difference)


def test_the_gradient_proof_file_passes_with_strict_justifications():
    result = run_cli("check", "--no-cache", "--strict-justifications", "proofs/006_gradient_estimators.toml")
    assert result.returncode == 0, result.stdout[-2000:]
    assert "19 steps: 19 proved" in result.stdout
