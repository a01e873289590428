"""Products (∏) in both syntaxes, the product rules, the closed forms of finite sums (issue 14, items 2 and 5).

Every table pairs a true identity that must be proved with false near-misses that must never be:
refuted where a witness exists, else unknown. Steps are written in the expression syntax and in LaTeX.
"""

from __future__ import annotations

import pytest
import sympy as sp

from klproof.check.decide import Options, check_step
from klproof.errors import ParseError, Span
from klproof.parse.build import Scope, finish
from klproof.parse.expr import parse_expression
from klproof.parse.file import read_derivation
from klproof.parse.latex import parse_latex
from klproof.verdict import Status

SYMBOLS = {"x": "real", "c": "positive", "a": "real", "r": "real", "q": "in (0, 1)", "sigma": "positive",
           "j": "integer", "k": "integer", "D": "positive integer", "J": "positive integer", "n": "integer"}
FAMILIES = {"m": "real", "w": "positive", "y": "real", "h": "real"}
NOT_PROVED = {Status.REFUTED, Status.UNKNOWN, Status.NUMERIC, Status.ERROR}


def derivation(start: str, expr: str | None = None, symbols: dict | None = None, by: str = "", latex: bool = False) -> str:
    lines = ['title = "products"', "[symbols]"]
    lines += [f'{k} = "{v}"' for k, v in {**SYMBOLS, **(symbols or {})}.items()]
    lines += ["[families]"] + [f'{k} = "{v}"' for k, v in FAMILIES.items()]
    if latex:
        lines += ["[[chain]]", f"latex = '''{start} = {expr}'''"]
    else:
        lines += ["[[chain]]", f"start = '''{start}'''", "[[chain.step]]", f"expr = '''{expr}'''"]
    if by:
        lines.append(f'by = "{by}"')
    return "\n".join(lines) + "\n"


def verdict(start: str, expr: str, **kw):
    (step,) = read_derivation("products.toml", derivation(start, expr, **kw).encode()).steps
    return check_step(step, Options())


def scope(**symbols: sp.Symbol) -> Scope:
    s = Scope()
    s.symbols.update({"x": sp.Symbol("x", real=True), "D": sp.Symbol("D", positive=True, integer=True),
                      "sigma": sp.Symbol("sigma", positive=True), **symbols})
    s.families.update({"m": sp.IndexedBase("m", real=True), "y": sp.IndexedBase("y", real=True)})
    return s


# -- the reader: both syntaxes build the same object -------------------------------------------

@pytest.mark.parametrize("expr,latex", [
    ("Product(m[d], (d, 1, D))", r"\prod_{d=1}^{D} m_d"),
    ("Product(exp(m[d]), (d, 1, D))", r"\prod_{d=1}^{D} e^{m_d}"),
    ("Product(N(y[d], m[d], sigma), (d, 1, D))", r"\prod_{d=1}^{D} \mathcal{N}(y_d; m_d, \sigma^2)"),
    ("log(Product(x + d, (d, 1, 3)))", r"\log \prod_{d=1}^{3} (x + d)"),
    ("Product(Product(m[d]*m[k], (k, 1, d)), (d, 1, D))", r"\prod_{d=1}^{D} \prod_{k=1}^{d} m_d m_k"),
])
def test_both_readers_build_the_same_product(expr, latex):
    span = Span("t.toml", 1)
    a = finish(parse_expression(expr, scope(), span))
    b = finish(parse_latex(latex, scope(), span))
    assert a == b
    assert a.has(sp.Product)


def test_a_product_of_normals_in_a_plain_vector_variable_stays_a_diagonal_gaussian():
    z = sp.Symbol("z", real=True)
    built = finish(parse_latex(r"\prod_{d=1}^{D} \mathcal{N}(z_d; m_d, \sigma^2)", scope(z=z), Span("t.toml", 1)))
    assert type(built).__name__ == "NormalDiag"


def test_the_index_is_bound_not_the_files_symbol():
    d = sp.Symbol("d", real=True)  # a file-level d: the product's d is another variable
    s = scope(d=d)
    built = finish(parse_expression("Product(d, (d, 1, 3))*d", s, Span("t.toml", 1)))
    assert d in built.free_symbols
    (product,) = built.atoms(sp.Product)
    assert d not in product.free_symbols


@pytest.mark.parametrize("text,latex,message", [
    ("Product(x, (d, 1, sigma))", False, "not provably an integer"),
    ("Product(x, (d, 1, 5/2))", False, "not provably an integer"),
    ("Product(x, d)", False, "needs a range"),
    ("Product(x)", False, "takes 2 arguments"),
    (r"\prod_{d=1}^{\sigma} x", True, "not provably an integer"),
    (r"\prod_{d=1} x", True, "needs a range"),
    (r"\prod x", True, "needs a range"),
])
def test_unusable_products_are_errors(text, latex, message):
    with pytest.raises(ParseError, match=message):
        (parse_latex if latex else parse_expression)(text, scope(), Span("t.toml", 1))


# -- checking ------------------------------------------------------------------------------------

PROVED = [
    ("log of a product of exponentials", "log(Product(exp(m[d]), (d, 1, D)))", "Sum(m[d], (d, 1, D))"),
    ("a concrete product written out", "Product(c*d, (d, 1, 3))", "6*c**3"),
    ("the Gaussian decoder over D pixels",
     "-log(Product(N(y[d], m[d], sigma), (d, 1, D)))",
     "Sum((y[d] - m[d])**2, (d, 1, D))/(2*sigma**2) + D*log(sigma) + D/2*log(2*pi)"),
]


@pytest.mark.parametrize("case,start,expr", PROVED, ids=[c[0] for c in PROVED])
def test_true_product_identities_are_proved(case, start, expr):
    result = verdict(start, expr)
    assert result.status is Status.PROVED, (case, result)


LATEX_PROVED = [
    ("log of a product of exponentials", r"\log \prod_{d=1}^{D} e^{m_d}", r"\sum_{d=1}^{D} m_d"),
    ("the Gaussian decoder over D pixels",
     r"-\log \prod_{d=1}^{D} \mathcal{N}(y_d; m_d, \sigma^2)",
     r"\frac{1}{2\sigma^2}\sum_{d=1}^{D} (y_d - m_d)^2 + D \log \sigma + \frac{D}{2}\log(2\pi)"),
]


@pytest.mark.parametrize("case,start,expr", LATEX_PROVED, ids=[c[0] for c in LATEX_PROVED])
def test_true_product_identities_in_latex_are_proved(case, start, expr):
    result = verdict(start, expr, latex=True)
    assert result.status is Status.PROVED, (case, result)


FALSE = [
    ("log of a product of factors that may be negative", "log(Product(m[d], (d, 1, D)))", "Sum(log(m[d]), (d, 1, D))"),
    ("a concrete product, off by one", "Product(c*d, (d, 1, 3))", "2*c**3"),
    ("the decoder without the normaliser",
     "-log(Product(N(y[d], m[d], sigma), (d, 1, D)))", "Sum((y[d] - m[d])**2, (d, 1, D))/(2*sigma**2)"),
]


@pytest.mark.parametrize("case,start,expr", FALSE, ids=[c[0] for c in FALSE])
def test_false_product_identities_are_never_proved(case, start, expr):
    result = verdict(start, expr)
    assert result.status in NOT_PROVED, (case, result)
