"""Matrices and the multivariate normal (issue 15, item 4): reading, rules, numeric witnesses, binders.

Every false step here must never be proved (and is refuted with a witness where the
sampler reaches it); every true counterpart is proved. Non-commutativity, symmetric
but not definite matrices and shape mistakes are the adversarial cases.
"""

from __future__ import annotations

import random

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from klproof import vocabulary as C
from klproof.check import matrix_rules
from klproof.check.decide import Options, check_step
from klproof.parse.file import read_derivation
from klproof.verdict import Status
from klproof.vocabulary.linear_algebra import PositiveDefiniteMatrix, SymmetricMatrix

from conftest import ROOT, read_error, run_cli

MATRICES = {"A": "k x k", "B": "k x k", "Cm": "k x k", "S": "k x k, symmetric",
            "P": "k x k, symmetric positive definite", "Q": "k x k, symmetric positive definite",
            "u": "k vector", "v": "k vector", "a": "k vector", "m": "k vector", "z": "k vector", "y": "k vector"}


def derivation(start: str, expr: str, by: str = "", matrices: dict | None = None) -> str:
    lines = ['title = "matrices"', "[symbols]", 'k = "positive integer"', 'x = "real"', "[matrices]"]
    lines += [f'{n} = "{d}"' for n, d in {**MATRICES, **(matrices or {})}.items()]
    lines += ["[[chain]]", f"start = '''{start}'''", "[[chain.step]]", f"expr = '''{expr}'''"]
    if by:
        lines.append(f'by = "{by}"')
    return "\n".join(lines) + "\n"


def verdict(start: str, expr: str, by: str = "", **kw):
    (step,) = read_derivation("m.toml", derivation(start, expr, by, **kw).encode()).steps
    assert step.error is None, step.error
    return check_step(step, Options())


# (start, expr, by): true, and proved by the stated rules
TRUE = [
    ("tr(A*B)", "tr(B*A)", "cyclic property of the trace"),
    ("tr(A*B*Cm)", "tr(Cm*A*B)", "cyclic property of the trace"),
    ("tr(transpose(A))", "tr(A)", "transpose"),
    ("tr(transpose(A*B))", "tr(transpose(B)*transpose(A))", "transpose"),
    ("tr(2*A + B)", "2*tr(A) + tr(B)", "linearity of the trace"),
    ("tr(eye(k))", "k", "matrix algebra"),
    ("tr(P*inv(P))", "k", "matrix algebra"),
    ("tr(u*transpose(v))", "transpose(v)*u", "cyclic property of the trace"),
    ("tr(transpose(u)*A*u)", "transpose(u)*A*u", "trace of a scalar"),
    ("transpose(u)*A*v", "transpose(v)*transpose(A)*u", "transpose"),
    ("transpose(u)*S*v", "transpose(v)*S*u", "symmetric matrix"),
    ("transpose(u)*inv(P)*v", "transpose(v)*inv(P)*u", "symmetric matrix"),
    ("transpose(u + v)*A*(u - v)", "transpose(u)*A*u - transpose(u)*A*v + transpose(v)*A*u - transpose(v)*A*v",
     "quadratic form"),
    ("transpose(transpose(A)*u)*v", "transpose(u)*A*v", "transpose"),
    ("logdet(P*Q)", "logdet(P) + logdet(Q)", "log det"),
    ("logdet(inv(P))", "-logdet(P)", "log det"),
    ("log(det(Q)/det(P))", "logdet(Q) - logdet(P)", "log det"),
    ("det(transpose(A))", "det(A)", "log det"),
    ("det(2*P)", "2**k*det(P)", "log det"),
    ("E(1, MvNormal(z, m, P))", "1", "expected quadratic form"),
    ("E(transpose(a)*z, MvNormal(z, m, P))", "transpose(a)*m", "expected quadratic form"),
    ("E(transpose(z)*A*z, MvNormal(z, m, P))", "tr(A*P) + transpose(m)*A*m", "expected quadratic form"),
    ("E(transpose(z - m)*inv(P)*(z - m), MvNormal(z, m, P))", "k", "expected quadratic form"),
    ("E(transpose(z)*z, MvNormal(z, 0, P))", "tr(P)", "expected quadratic form"),
    ("log(MvNormal(z, m, P))", "-k*log(2*pi)/2 - logdet(P)/2 - transpose(z - m)*inv(P)*(z - m)/2",
     "log of the multivariate normal density"),
    ("KL(MvNormal(z, m, P), MvNormal(z, m, P))", "0",
     "definition of KL, log of the multivariate normal density, expected quadratic form"),
    ("E(3*transpose(z)*a + x, MvNormal(z, m, P))", "3*E(transpose(a)*z, MvNormal(z, m, P)) + x",
     "linearity of expectation"),
    ("E(3*transpose(z)*a + x, MvNormal(z, m, P))", "3*transpose(a)*m + x",
     "linearity of expectation, expected quadratic form"),
]


@pytest.mark.parametrize("start, expr, by", TRUE, ids=[t[0] for t in TRUE])
def test_true_matrix_step_is_proved_by_the_stated_rules(start, expr, by):
    v = verdict(start, expr, by)
    assert v.status is Status.PROVED, (v.method, v.detail)
    assert not v.beyond_stated, v.rules


# (case, start, expr): false; never proved, refuted with a witness that prints the matrices
FALSE = [
    ("products do not commute", "transpose(u)*A*B*v", "transpose(u)*B*A*v"),
    ("tr(ABC) is not tr(ACB)", "tr(A*B*Cm)", "tr(A*Cm*B)"),
    ("a general matrix is not symmetric", "transpose(u)*A*v", "transpose(v)*A*u"),
    ("tr(AA) is not tr(AA^T)", "tr(A*A)", "tr(A*transpose(A))"),
    ("det is not additive", "det(A + B)", "det(A) + det(B)"),
    ("tr is not multiplicative", "tr(P*Q)", "tr(P)*tr(Q)"),
    ("the mean term dropped", "E(transpose(z)*A*z, MvNormal(z, m, P))", "tr(A*P)"),
    ("the covariance on the wrong side of a general A", "E(transpose(z)*A*z, MvNormal(z, 0, P))", "tr(P*transpose(A)*P)"),
    ("Sigma1^-1 where Sigma2^-1 belongs", "E(transpose(z - a)*inv(Q)*(z - a), MvNormal(z, m, P))",
     "tr(inv(P)*P) + transpose(m - a)*inv(Q)*(m - a)"),
    ("mu1 - mu2 weighted by Sigma1^-1", "E(transpose(z - a)*inv(Q)*(z - a), MvNormal(z, m, P))",
     "tr(inv(Q)*P) + transpose(m - a)*inv(P)*(m - a)"),
    ("log det of a quotient upside down", "log(det(Q)/det(P))", "logdet(P) - logdet(Q)"),
    ("the (2 pi) factor without its k", "log(MvNormal(z, m, P))",
     "-log(2*pi)/2 - logdet(P)/2 - transpose(z - m)*inv(P)*(z - m)/2"),
]


@pytest.mark.parametrize("case, start, expr", FALSE, ids=[f[0] for f in FALSE])
def test_false_matrix_step_is_refuted_with_a_matrix_witness(case, start, expr):
    v = verdict(start, expr, "matrix algebra")
    assert v.status is Status.REFUTED, (case, v.status, v.detail)
    assert any(value.startswith("Matrix(") for _, value in v.witness.point), v.witness.point


# true only where a determinant is positive: never proved for a merely symmetric or a general matrix
NOT_PROVED = [
    ("log det of a product of general matrices", "logdet(A*B)", "logdet(A) + logdet(B)"),
    ("log det of a square of a symmetric matrix", "logdet(S*S)", "2*logdet(S)"),
]


@pytest.mark.parametrize("case, start, expr", NOT_PROVED, ids=[n[0] for n in NOT_PROVED])
def test_log_det_needs_a_positive_determinant(case, start, expr):
    assert verdict(start, expr, "log det").status is not Status.PROVED
    # the true counterpart, for SPD matrices
    spd = {"A": "k x k, symmetric positive definite", "B": "k x k, symmetric positive definite",
           "S": "k x k, symmetric positive definite"}
    assert verdict(start, expr, "log det", matrices=spd).status is Status.PROVED


@pytest.mark.parametrize("start, expr, message", [
    ("tr(A*transpose(u))", "0", "cannot multiply a k x k matrix by a transposed k vector"),
    ("transpose(u)*v*u", "0", "not a number"),
    ("tr(A + u)", "0", "cannot add a k x k matrix and a k vector"),
    ("transpose(u)*A", "0", "not a number"),
    ("A", "0", "is a k x k matrix, not a number"),
    ("tr(inv(A))", "0", "inv() needs a matrix declared symmetric positive definite"),
    ("tr(inv(S))", "0", "inv() needs a matrix declared symmetric positive definite"),
    ("log(A)", "0", "log of a k x k matrix is not defined here"),
    ("tr(A**2)", "0", "powers of a matrix or a vector are not supported"),
    ("E(transpose(z)*z, MvNormal(z, m, S))", "0", "must be declared symmetric positive definite"),
    ("E(x, MvNormal(x, m, P))", "0", "the variable of MvNormal must be a vector declared under [matrices]"),
    ("tr(u)", "0", "it needs a square matrix"),
    ("1/A", "0", "cannot divide by a k x k matrix"),
    ("N(x, m, 1)", "0", "the variable and the mean of N must be real"),
])
def test_shape_mistakes_are_the_users_errors_with_line_and_column(start, expr, message):
    error = read_error("m.toml", derivation(start, expr).encode())
    assert error is not None and message in error.message, error
    assert error.span.line == 19 and error.span.col, error.span


@pytest.mark.parametrize("declaration, message", [
    ('"k x 2"', "only square matrices"),
    ('"n vector"', "the dimension 'n' is not declared"),
    ('"x vector"', "must be declared a positive integer"),
    ('"k x k, orthogonal"', "cannot read the matrix declaration"),
    ('"99 vector"', "a literal dimension must be 1 to 10"),
    ("3", "a matrix declaration is a string"),
])
def test_bad_matrix_declarations_are_refused(declaration, message):
    text = f'title = "t"\n[symbols]\nk = "positive integer"\nj = "integer"\nx = "real"\n[matrices]\nM = {declaration}\n' \
           '[[chain]]\nstart = "k"\n'
    error = read_error("m.toml", text.encode())
    assert error is not None and message in error.message and error.span.line == 7, error


def test_a_shape_error_exits_2_through_the_command_line(tmp_path):
    path = tmp_path / "shape.toml"
    path.write_text(derivation("tr(A*transpose(u))", "0"))
    result = run_cli("check", "--no-cache", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stdout + result.stderr
    assert "shape.toml:19" in result.stdout + result.stderr


# -- binders: the z of E over MvNormal is the binder's ------------------------------------------

BINDERS = [
    # (case, start, expr, proved?)
    ("the free z beside a bound z", "E(transpose(z)*a, MvNormal(z, m, P)) + transpose(z)*a",
     "transpose(m)*a + transpose(z)*a", True),
    ("the free z taken for the bound one", "E(transpose(z)*a, MvNormal(z, m, P)) + transpose(z)*a",
     "2*transpose(m)*a", False),
    ("the bound z leaks out", "E(transpose(z)*a, MvNormal(z, m, P))", "transpose(z)*a", False),
    ("alpha-equivalent expectations", "E(transpose(z)*A*z, MvNormal(z, m, P))", "E(transpose(y)*A*y, MvNormal(y, m, P))",
     True),
    ("a mean that mentions the free y", "E(transpose(z)*a, MvNormal(z, y, P))", "transpose(y)*a", True),
    ("a mean that is not the free y", "E(transpose(z)*a, MvNormal(z, y, P))", "transpose(m)*a", False),
]


def test_a_mean_that_mentions_the_bound_vector_is_not_a_density_over_it():
    v = verdict("E(transpose(z)*a, MvNormal(z, z, P))", "transpose(z)*a", "expected quadratic form")
    assert v.status is not Status.PROVED, v.detail


@pytest.mark.parametrize("case, start, expr, proved", BINDERS, ids=[b[0] for b in BINDERS])
def test_the_vector_of_an_expectation_is_bound(case, start, expr, proved):
    v = verdict(start, expr, "expected quadratic form")
    if proved:
        assert v.status is Status.PROVED, (case, v.detail)
    else:
        assert v.status is Status.REFUTED, (case, v.status, v.detail)


def test_bound_vectors_are_canonical_and_distinct_from_the_files():
    (step,) = read_derivation("m.toml", derivation("E(transpose(z)*a, MvNormal(z, m, P))", "transpose(z)*a").encode()).steps
    (e,) = step.claim.lhs.atoms(C.Expectation)
    bound = e.args[2]
    declared = next(s for s in step.claim.rhs.free_symbols if getattr(s, "name", "") == "z")
    assert bound != declared and isinstance(bound.args[0], sp.Dummy) and bound.shape == declared.shape
    assert bound not in step.claim.lhs.free_symbols


# -- the canonical form agrees with explicit matrices (SymPy's own arithmetic) --------------------

k = sp.Symbol("k", positive=True, integer=True)
_A, _B = sp.MatrixSymbol("A", k, k), sp.MatrixSymbol("B", k, k)
_S, _P = SymmetricMatrix("S", k, k), PositiveDefiniteMatrix("P", k, k)
_u, _v = sp.MatrixSymbol("u", k, 1), sp.MatrixSymbol("v", k, 1)
SQUARE = [_A, _B, _S, _P, sp.Inverse(_P)]


@st.composite
def square_words(draw):
    factors = draw(st.lists(st.sampled_from(range(len(SQUARE))), min_size=1, max_size=4))
    flips = draw(st.lists(st.booleans(), min_size=len(factors), max_size=len(factors)))
    out = [sp.Transpose(SQUARE[f]) if t else SQUARE[f] for f, t in zip(factors, flips, strict=True)]
    return out[0] if len(out) == 1 else sp.MatMul(*out)


def _explicit(expr, seed: int):
    rng = random.Random(seed)
    n = 3

    def m():
        return sp.Matrix(n, n, lambda i, j: rng.randint(-3, 3))
    b = m()
    values = {_A: m(), _B: m(), _u: sp.Matrix(n, 1, lambda i, j: rng.randint(-3, 3)),
              _v: sp.Matrix(n, 1, lambda i, j: rng.randint(-3, 3))}
    s = m()
    values[_S] = s + s.T
    values[_P] = b * b.T + sp.eye(n)
    values = {key: sp.ImmutableMatrix(val) for key, val in values.items()}

    def value(e):  # exact 3 x 3 arithmetic, written here (not the rules', not the sampler's)
        if isinstance(e, C.Scalar):
            return value(e.args[0])[0, 0]
        if isinstance(e, C.Trace):
            return value(e.args[0]).trace()
        if isinstance(e, sp.MatrixSymbol):
            return values[e]
        if isinstance(e, sp.Identity):
            return sp.eye(n)
        if isinstance(e, sp.Inverse):
            return value(e.arg).inv()
        if isinstance(e, sp.MatPow):
            return value(e.base) ** int(e.exp)
        if isinstance(e, sp.Transpose):
            return value(e.arg).T
        if isinstance(e, (sp.MatMul, sp.Mul)):
            out = sp.Integer(1)
            for a in e.args:
                out = out * value(a)
            return out
        if isinstance(e, (sp.MatAdd, sp.Add)):
            parts = [value(a) for a in e.args]
            out = parts[0]
            for p_ in parts[1:]:
                out = out + p_
            return out
        return e.subs(k, n)
    return value(expr)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(square_words(), square_words(), st.integers(0, 10**6))
def test_the_canonical_form_of_traces_and_forms_is_sound(w1, w2, seed):
    for expr in (C.Trace(w1), C.Scalar(sp.MatMul(sp.Transpose(_u), w1, _v)) + C.Trace(sp.MatMul(w1, w2)),
                 C.Trace(sp.MatMul(w1, _u, sp.Transpose(_v)))):
        assert _explicit(matrix_rules.matrix_algebra(expr), seed) == _explicit(expr, seed)


def test_full_covariance_kl_proof_and_its_near_misses():
    proof = run_cli("check", "--no-cache", "--strict-justifications", "proofs/010_full_covariance_kl.toml", cwd=ROOT)
    assert proof.returncode == 0, proof.stdout[-3000:]
    variants = run_cli("check", "--no-cache", "examples/010_full_covariance_kl_false_variants.toml", cwd=ROOT)
    assert variants.returncode == 1 and "7 steps: 7 refuted" in variants.stdout, variants.stdout[-3000:]
    assert variants.stdout.count("witness:") == 7 and "Matrix([[" in variants.stdout


# -- LaTeX: the same objects as the expression syntax ---------------------------------------------

def _both(latex: str, expr: str):
    lines = ['title = "both"', "[symbols]", 'k = "positive integer"', "[matrices]"]
    lines += [f'{n} = "{d}"' for n, d in {**MATRICES, "Sigma_1": "k x k, symmetric positive definite",
                                          "mu_1": "k vector"}.items()]
    lines += ["[[chain]]", f"start = '''{expr}'''", "[[chain.step]]", f"expr = '''{expr}'''",
              "[[chain]]", f"latex = '''{latex}'''", "[[chain.step]]", f"latex = '''= {latex}'''"]
    d = read_derivation("both.toml", "\n".join(lines).encode())
    assert all(s.error is None for s in d.steps), [s.error for s in d.steps]
    return d.chains[1].start, d.chains[0].start


@pytest.mark.parametrize("latex, expr", [
    (r"\mu_1^\top \Sigma_1^{-1} \mu_1", "transpose(mu_1)*inv(Sigma_1)*mu_1"),
    (r"\mu_1^T A \mu_1", "transpose(mu_1)*A*mu_1"),
    (r"\mu_1^{\top} A u", "transpose(mu_1)*A*u"),
    (r"(u - \mu_1)^\top \Sigma_1^{-1} (u - \mu_1)", "transpose(u - mu_1)*inv(Sigma_1)*(u - mu_1)"),
    (r"\operatorname{tr}(\Sigma_1^{-1} A)", "tr(inv(Sigma_1)*A)"),
    (r"\operatorname{tr}\left(A B\right)", "tr(A*B)"),
    (r"\det \Sigma_1", "det(Sigma_1)"),
    (r"\log\det\Sigma_1 - \log \det(P)", "logdet(Sigma_1) - logdet(P)"),
    (r"\log\frac{\det \Sigma_1}{\det P}", "log(det(Sigma_1)/det(P))"),
    (r"\operatorname{tr}(I_k)", "tr(eye(k))"),
    (r"\mathbb{E}_{z \sim \mathcal{N}(\mu_1, \Sigma_1)}\left[z^\top A z\right]", "E(transpose(z)*A*z, MvNormal(z, mu_1, Sigma_1))"),
    (r"\mathbb{E}_{\mathcal{N}(z; \mu_1, \Sigma_1)}\left[z^\top A z\right]", "E(transpose(z)*A*z, MvNormal(z, mu_1, Sigma_1))"),
    (r"D_{KL}\left(\mathcal{N}(z; \mu_1, \Sigma_1) \,\|\, \mathcal{N}(z; 0, I_k)\right)",
     "KL(MvNormal(z, mu_1, Sigma_1), MvNormal(z, 0, eye(k)))"),
])
def test_latex_reads_matrices_as_the_expression_syntax_does(latex, expr):
    from_latex, from_expr = _both(latex, expr)
    assert from_latex == from_expr


@pytest.mark.parametrize("latex, message, col", [
    (r"\operatorname{tr}(A m^\top)", "cannot multiply a k x k matrix by a transposed k vector", 32),
    (r"\operatorname{tr}(A^{2})", "a power of a matrix other than ^{-1}", 31),
    (r"\operatorname{tr}(A^{-1})", "inv() needs a matrix declared symmetric positive definite", 31),
    (r"m^\top A", "not a number", 12),
    (r"\mathcal{N}(z; m, S)", "must be declared symmetric positive definite", 12),
])
def test_latex_shape_mistakes_are_errors_with_a_column(latex, message, col):
    text = derivation("k", "k").replace("[[chain]]", f"[[chain]]\nlatex = '''{latex}'''\n[[chain]]", 1)
    error = read_error("m.toml", text.encode())
    assert error is not None and message in error.message, error
    assert error.span.line == 19 and error.span.col == col, error.span


def test_a_true_moment_beyond_the_quadratures_exact_degree_is_never_refuted():
    """E[exp(u^T z)] = exp(u^T P u / 2) for z ~ N(0, P): the mass sits far out in the tails, where a product
    Gauss-Hermite rule of a few nodes misses it (both orders alike); the sampler must say nothing."""
    (step,) = read_derivation("m.toml", derivation("E(exp(transpose(z)*u), MvNormal(z, 0, P))",
                                                   "exp(transpose(u)*P*u/2)").encode()).steps
    v = check_step(step, Options(points=2))
    assert v.status not in (Status.REFUTED, Status.PROVED), (v.status, v.witness)
    (false,) = read_derivation("m.toml", derivation("E(transpose(z)*u*transpose(z)*u, MvNormal(z, 0, P))",
                                                    "2*transpose(u)*P*u").encode()).steps
    assert check_step(false, Options(points=2)).status is Status.REFUTED  # degree 2: exact, so refuted
