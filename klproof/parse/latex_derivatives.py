"""How the LaTeX reader spells a derivative (see klproof/vocabulary/derivatives.py for what it means).

    \\frac{d}{d\\mu} f      \\frac{\\partial}{\\partial \\mu} f      \\frac{d^2}{d\\mu^2} f
    \\frac{\\partial f}{\\partial \\mu}      \\frac{\\mathrm{d} f}{\\mathrm{d}\\mu}      \\nabla_\\mu f

The operator forms act on the term that follows (a product of factors, as a sum's
summand: `\\frac{d}{dx} x^2 + 1` is d/dx(x^2) + 1). The variable is read first,
in the enclosing scope, as the point of evaluation; then the body is read with
that name bound to the derivative's own variable (like an integral's dx, read
ahead). A derivative with respect to an integer, an index or a name that is not
declared real is an error.
"""

from __future__ import annotations

import sympy as sp

from klproof import vocabulary as C
from klproof.vocabulary import derivatives as D


def _operator_length(p, i: int) -> int:
    """Tokens of a 'd', '\\partial' or '\\mathrm{d}' at token i; 0 if there is none."""
    t = p.toks[i]
    if t.kind == "letter" and t.text == "d" or t.kind == "cmd" and t.text == "partial":
        return 1
    if t.kind == "cmd" and t.text in ("mathrm", "operatorname", "text") and p.toks[i + 1].text == "{" \
            and p.toks[i + 2].text == "d" and p.toks[i + 3].text == "}":
        return 4
    return 0


def is_derivative_fraction(p) -> bool:
    """At \\frac: is it d/dx (numerator and denominator both open with d or \\partial)?"""
    i = p.i + 1
    if not (p.toks[i].kind == "char" and p.toks[i].text == "{") or not _operator_length(p, i + 1):
        return False
    close = p._closing(i)
    after = p.toks[close + 1] if close + 1 < len(p.toks) else None
    return after is not None and after.text == "{" and bool(_operator_length(p, close + 2))


def _order(p) -> int:
    """An optional ^n after d, \\partial or the variable."""
    if not p.at("char", "^"):
        return 1
    caret = p.next()
    value = p.tex_argument()
    if not (value.is_Integer and 1 <= value <= D.MAX_ORDER):
        raise p.error(f"the order of a derivative must be a whole number from 1 to {D.MAX_ORDER}", tok=caret)
    return int(value)


def _point(p, name: str, tok) -> tuple[sp.Expr, dict]:
    """The point a derivative by `name` is taken at (the name in the enclosing scope) and its variable's domain."""
    point = p.scope.symbol(name)
    if point is None:
        raise p.error(f"unknown variable '{name}' in a derivative",
                      f'declare it under [symbols], e.g. {name} = "real"', tok=tok)
    domain = D.variable_domain(point)
    if domain is None:
        what = "an integer" if point.is_integer else "not declared real"
        raise p.error(f"cannot differentiate with respect to '{name}': it is {what}",
                      f'differentiate with respect to a real variable, declared e.g. {name} = "real"', tok=tok)
    return point, domain


def _operand(p):
    if p.at_char("+-"):
        sign = -1 if p.next().text == "-" else 1
        return sign * p.term()
    if not p.starts_factor():
        raise p.error("the derivative has nothing to act on", "write \\frac{d}{d\\mu} f(\\mu) or \\nabla_\\mu f")
    return p.term()


def fraction_derivative(p) -> sp.Expr:
    """\\frac{d^n}{dx^n} f or \\frac{d^n f}{dx^n}, at \\frac (checked by is_derivative_fraction)."""
    t = p.next()
    open_numerator = p.i
    close_numerator = p._closing(open_numerator)
    p.next()
    p.i += _operator_length(p, p.i)
    order = _order(p)
    body_start = p.i if p.i < close_numerator else None
    p.i = close_numerator + 1
    p.expect_char("{", "to open the denominator")
    p.i += _operator_length(p, p.i)
    name_tok = p.tok
    if not (name_tok.kind == "letter" or name_tok.kind == "cmd" and name_tok.text not in ("partial",)):
        raise p.error("the denominator of a derivative is d followed by a variable, e.g. {d\\mu}", tok=name_tok)
    name, _ = p.binder_name()
    if _order(p) != order:
        raise p.error("the orders of d in the numerator and the denominator differ", "write \\frac{d^2}{d\\mu^2}", tok=t)
    p.expect_char("}", "to close the denominator")
    after = p.i
    point, domain = _point(p, name, name_tok)
    with p.bind(name, domain, t, f"the derivative with respect to {name}") as var:
        if body_start is None:
            body = _operand(p)
        else:
            p.i = body_start
            body = p.expr()
            if p.i != close_numerator:
                raise p.error("unexpected text in the numerator of a derivative", "write \\frac{\\partial f}{\\partial \\mu}")
            p.i = after
    return _bounded(p, C.DerivativeAt(body, var, point, sp.Integer(order)), t)


def _bounded(p, derivative, tok):
    implicit = D.implicit_dependence(derivative.body, derivative.variable)
    if implicit:
        raise p.error(implicit, "e.g. \\frac{d}{dz} \\frac{z - \\mu}{\\sigma} instead of \\frac{d\\epsilon}{dz}", tok=tok)
    if D.total_order(derivative) > D.MAX_TOTAL_ORDER:
        raise p.error(f"nested derivatives of total order above {D.MAX_TOTAL_ORDER}",
                      "split the step into smaller steps", tok=tok)
    return derivative


def nabla(p) -> sp.Expr:
    """\\nabla_\\mu f or \\nabla_{\\mu} f: the gradient with respect to the scalar mu."""
    t = p.next()
    if not p.at("char", "_"):
        raise p.error("\\nabla needs its variable as a subscript", "write \\nabla_\\mu f", tok=t)
    p.next()
    braced = p.at("char", "{")
    if braced:
        p.next()
    name_tok = p.tok
    name, _ = p.binder_name()
    if braced:
        p.expect_char("}", "to close the subscript of \\nabla")
    point, domain = _point(p, name, name_tok)
    with p.bind(name, domain, t, f"the gradient with respect to {name}") as var:
        body = _operand(p)
    return _bounded(p, C.DerivativeAt(body, var, point, sp.Integer(1)), t)
