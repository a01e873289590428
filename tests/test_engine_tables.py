"""Tables of (claim, expected): true steps must be proved, false steps must never be."""

from __future__ import annotations

import pytest

from klproof.check.decide import Options
from klproof.verdict import Status

from conftest import check_claim

N = "N(x, mu, sigma)"

TRUE_STEPS = [
    # (previous, claimed, by)
    ("(a + b)**2", "a**2 + 2*a*b + b**2", "algebra"),
    ("log(sigma**2)", "2*log(sigma)", "log rules"),
    ("log(sigma_1*sigma_2)", "log(sigma_1) + log(sigma_2)", "log rules"),
    ("log(exp(x))", "x", "log rules"),
    (f"Integral({N}, x)", "1", "density integrates to 1"),
    (f"E(x, {N})", "mu", "Gaussian moments"),
    (f"E(x**2, {N})", "mu**2 + sigma**2", "Gaussian moments"),
    (f"E((x - mu)**2, {N})", "sigma**2", "Gaussian moments"),
    (f"E(x**3, {N})", "mu**3 + 3*mu*sigma**2", "Gaussian moments"),
    ("E(x**4, N(x, 0, sigma))", "3*sigma**4", "Gaussian moments"),
    ("KL(N(x, mu_1, sigma_1), N(x, mu_2, sigma_2))",
     "log(sigma_2/sigma_1) + (sigma_1**2 + (mu_1 - mu_2)**2)/(2*sigma_2**2) - 1/2", "definition of KL, Gaussian moments"),
    ("KL(N(x, mu, sigma), N(x, mu, sigma))", "0", "definition of KL"),
    ("P(z|X)", "P(X|z)*P(z)/P(X)", "Bayes' rule"),
    ("Sum(Q(z|X), z)", "1", "density sums to 1"),
    ("Sum(P(z, X), z)", "P(X)", "marginalisation"),
    ("E(log(P(X)), Q(z|X))", "log(P(X))", "linearity, density sums to 1"),
    ("E(3*log(P(X|z)) + 2, Q(z|X))", "3*E(log(P(X|z)), Q(z|X)) + 2", "linearity"),
    ("Sum(m[j] + 1, (j, 1, J))", "Sum(m[j], (j, 1, J)) + J", "linearity of sums"),
    ("Sum(2*m[j], (j, 1, J))", "2*Sum(m[j], (j, 1, J))", "linearity of sums"),
    ("Sum(a, (i, 1, J))", "a*J", "linearity of sums"),
    ("Sum(a + m[i], (i, 1, K))", "Sum(a, (i, 1, K)) + Sum(m[i], (i, 1, K))", "linearity of sums"),
    ("log(det(diag(v[i], (i, 1, K))))", "Sum(log(v[i]), (i, 1, K))", "trace and determinant"),
    ("Sum(log(v[j]**2), (j, 1, J))", "2*Sum(log(v[j]), (j, 1, J))", "log rules, linearity of sums"),
    ("log(det(diag(v[j], (j, 1, J))))", "Sum(log(v[j]), (j, 1, J))", "trace and determinant"),
    ("tr(diag(v[j]**2, (j, 1, J)))", "Sum(v[j]**2, (j, 1, J))", "trace"),
    ("Integral(exp(-eps**2/2)/sqrt(2*pi) * eps**2, eps)", "1", "Gaussian moments"),
    ("0.5*x", "x/2", "algebra"),
    ("Sum(Q(z|X)*(z + 1), z)", "Sum(Q(z|X)*z, z) + 1", "linearity, density sums to 1"),
    ("Sum(P(X)*x**2, x)", "P(X)*Sum(x**2, x)", "linearity"),
    ("Integral(Q(z|X)*log(Q(z|X)), (z, -oo, oo))", "Sum(Q(z|X)*log(Q(z|X)), z)", "algebra"),
]


@pytest.mark.parametrize("previous,claimed,by", TRUE_STEPS)
def test_true_step_is_proved(previous, claimed, by):
    verdict = check_claim(previous, claimed, by)
    assert verdict.status is Status.PROVED, (verdict.method, verdict.detail)


@pytest.mark.parametrize("previous,claimed,by", TRUE_STEPS)
def test_proof_and_sampling_agree(previous, claimed, by):
    """Every true row is sampled too: a certified witness against a proof would be an unsound rule."""
    verdict = check_claim(previous, claimed, by, options=Options(cross_check=True, points=4))
    assert verdict.status is Status.PROVED, (verdict.method, verdict.detail, verdict.witness)


FALSE_STEPS = [
    # (previous, claimed, by, what is wrong)
    ("a - b", "b - a", "algebra", "wrong sign"),
    ("(a + b)**2", "a**2 + b**2", "algebra", "dropped cross term"),
    (f"E(x**2, {N})", "mu**2 + sigma", "Gaussian moments", "sigma where sigma**2 belongs"),
    (f"E((x - mu)**2, {N})", "sigma**2/2", "Gaussian moments", "extra factor 1/2"),
    ("KL(N(x, mu_1, sigma_1), N(x, mu_2, sigma_2))",
     "log(sigma_2/sigma_1) + (sigma_1**2 + (mu_1 - mu_2)**2)/(2*sigma_2**2)", "definition of KL", "missing -1/2"),
    ("-Sum(1 + log(v[j]**2) - m[j]**2 - v[j]**2, (j, 1, J))/2",
     "-Sum(1 + log(v[j]**2) - m[j]**2 - v[j]**2, (j, 1, J))", "algebra", "missing factor 1/2"),
    ("log(s**2)", "2*log(s)", "log rules", "log s^2 = 2 log s without s > 0"),
    ("sqrt(s**2)", "s", "algebra", "sqrt branch without s >= 0"),
    ("log(a*b)", "log(a) + log(b)", "log rules", "log of a product of reals of unknown sign"),
    ("x/3", "0.3333333333333333*x", "algebra", "float literal against an exact fraction"),
    ("x + exp(-1000)", "x", "algebra", "difference far below double precision"),
    ("1 + exp(-100)*x", "1", "algebra", "tiny term"),
    ("P(z|X)", "P(X|z)*P(z)", "Bayes' rule", "Bayes without the evidence"),
    ("Sum(Q(z|X)*log(P(X|z)), z)", "log(P(X|z))", "linearity", "E of a z-dependent term pulled out"),
    ("E(log(P(X|z)) + log(P(z)), Q(z|X))", "E(log(P(X|z)), Q(z|X)) - E(log(P(z)), Q(z|X))", "linearity", "sign"),
    ("KL(Q(z|X), P(z|X))", "KL(P(z|X), Q(z|X))", "definition of KL", "KL is not symmetric"),
    ("Sum(m[j]**2, (j, 1, J))", "Sum(m[j], (j, 1, J))**2", "linearity of sums", "square of a sum"),
    ("Sum(1, (j, 1, J))", "J + 1", "linearity of sums", "off by one"),
    ("Sum(a, (i, 1, K))", "a*K", "linearity of sums", "an empty range counted as negative"),
    (f"Integral({N} * x, x)", "mu + sigma", "Gaussian moments", "wrong mean"),
    ("Sum(Q(z|X)*(z + 1), z)", "Sum(Q(z|X)*z, z) + 2", "linearity", "the summed variable inside arithmetic"),
]


@pytest.mark.parametrize("previous,claimed,by,what", FALSE_STEPS, ids=[row[3] for row in FALSE_STEPS])
def test_false_step_is_never_proved(previous, claimed, by, what):
    verdict = check_claim(previous, claimed, by)
    assert verdict.status is not Status.PROVED
    assert not verdict.passed


@pytest.mark.parametrize("previous,claimed,by,what", FALSE_STEPS, ids=[row[3] for row in FALSE_STEPS])
def test_false_step_gets_a_certified_witness(previous, claimed, by, what):
    verdict = check_claim(previous, claimed, by)
    assert verdict.status is Status.REFUTED, (verdict.method, verdict.detail)
    # Certified digits: 30 through exact arithmetic; through quadrature, the orders of magnitude by
    # which the difference stands above a hundred times its error bound (about 12 at 20 working digits).
    assert verdict.witness is not None and verdict.witness.digits >= 10


def test_forgotten_jacobian_is_refuted():
    start = "Integral(exp(-eps**2/2)/sqrt(2*pi) * eps**2, eps)"
    wrong = "Integral(exp(-(z - mu)**2/(2*sigma**2))/sqrt(2*pi) * ((z - mu)/sigma)**2, z)"
    right = wrong[:-4] + " / sigma, z)"
    assert check_claim(start, right, "substitution", substitute="eps = (z - mu)/sigma").status is Status.PROVED
    verdict = check_claim(start, wrong, "substitution", substitute="eps = (z - mu)/sigma")
    assert verdict.status is Status.REFUTED
    assert "factor" in verdict.diagnosis


@pytest.mark.parametrize("previous,claimed,expected", [
    ("a - b", "b - a", "differ by sign"),
    ("a + b", "a - b", "sign of the term"),
    ("a + b + 1", "a + b", "the term 1 on the left side should not be there"),
    ("a*b + 2", "a*b", "should not be there"),
    ("2*a*b", "a*b", "constant factor"),
    ("log(s**2)", "2*log(s)", "holds only if s > 0"),
])
def test_diagnosis(previous, claimed, expected):
    verdict = check_claim(previous, claimed, "algebra")
    assert verdict.status is Status.REFUTED
    assert expected in verdict.diagnosis


def test_equation_following_from_the_previous_one():
    from klproof.check.decide import check_step
    from klproof.parse.file import read_derivation
    from conftest import derivation_text

    text = derivation_text("a + b == b + a") + "\n[[chain.step]]\nexpr = '-a - b == -b - a'\nby = 'negate both sides'\n"
    steps = read_derivation("t.toml", text.encode()).steps
    assert [check_step(s, Options()).status for s in steps] == [Status.PROVED, Status.PROVED]
