"""The builder both readers share: names in scope, binders and their domains, and every bound on size.

The expression reader and the LaTeX reader parse different notations, but
whatever they build passes through here: a binder's variable is made here
(with the domain of its range, never the file's assumptions for that name), a
sum's bounds are checked here, every number and power is bounded here, and an
undefined value (log 0, 1/0, a zeroth root) is refused here. The finished
expression is put in canonical form (`klproof.vocabulary.binders.canonical`).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from collections.abc import Iterator

import sympy as sp

from klproof.errors import Span
from klproof.vocabulary.binders import canonical, domain_of, fresh, range_domain  # noqa: F401 - range_domain is the readers' too

MAX_EXPRESSION_CHARS = 5_000
MAX_NODES = 2_000
MAX_DEPTH = 60
MAX_INTEGER_DIGITS = 100
MAX_EXPONENT = 1_000  # |n| in x**n for a numeric n, also after powers combine: x**999 * x**2
MAX_RESULT_DIGITS = 2_000  # numbers built from literals, e.g. 2**1000
MAX_EXPANDED_NODES = 10_000  # an expression with every definition replaced by its body
MAX_FILE_NODES = 20_000  # all the expressions of one file together (bounds the time to read a file)
RESULT_BITS = int(MAX_RESULT_DIGITS * 3.3219) + 1  # bits of a number of MAX_RESULT_DIGITS digits

# how each assumption word reads in a warning
_WORDS = {"positive": "positive", "negative": "negative", "nonnegative": "nonnegative",
          "nonpositive": "nonpositive", "nonzero": "nonzero", "integer": "an integer", "real": "real"}


@dataclass
class Scope:
    """The names an expression may use: what the derivation file declared, and the binders open here."""

    symbols: dict[str, sp.Symbol] = field(default_factory=dict)
    families: dict[str, sp.IndexedBase] = field(default_factory=dict)
    distributions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    definitions: dict[str, sp.Basic] = field(default_factory=dict)  # name -> vocabulary.DefinitionBody
    bound: dict[str, sp.Symbol] = field(default_factory=dict)  # name -> the variable of the innermost binder
    matrices: dict[str, sp.Basic] = field(default_factory=dict)  # name -> its MatrixSymbol ([matrices])
    warnings: list[tuple[Span, str]] = field(default_factory=list)
    # while a definition's body is read: its own name, and the names of the definitions below it
    defining: str | None = None
    later_definitions: tuple[str, ...] = ()
    # per definition: (tree size of its fully expanded body, occurrences of each symbol in it)
    expanded: dict[str, tuple[int, dict]] = field(default_factory=dict)
    nodes_read: int = 0  # syntax-tree nodes of every expression read with this scope so far

    def symbol(self, name: str) -> sp.Symbol | None:
        """What a plain name means here: the innermost binder's variable, else the file's symbol."""
        found = self.bound.get(name) or self.symbols.get(name)
        return found if found is not None else self.matrices.get(name)

    def is_distribution_variable(self, name: str) -> bool:
        return any(name in variables for variables in self.distributions.values())

    def warn(self, span: Span, message: str) -> None:
        if (span, message) not in self.warnings and len(self.warnings) < 100:
            self.warnings.append((span, message))


# -- binders -------------------------------------------------------------------------------

def declared_domain(scope: Scope, name: str) -> dict:
    """The support a file declares for a distribution's variable: the assumptions of its symbol."""
    symbol = scope.symbols.get(name)
    return domain_of(symbol) if symbol is not None else {}


@contextmanager
def binding(scope: Scope, name: str, domain: dict, span: Span, what: str) -> Iterator[sp.Symbol]:
    """Open a binder for `name`: inside, the name means a fresh variable with `domain`."""
    var = fresh(name, **domain)
    _warn_if_shadowed(scope, name, var, span, what)
    with bound_as(scope, name, var):
        yield var


@contextmanager
def bound_as(scope: Scope, name: str, var):
    """Inside the `with`, `name` means `var` (a scalar or a vector bound variable); the outer meaning after it."""
    outer = scope.bound.get(name)
    scope.bound[name] = var
    try:
        yield var
    finally:
        if outer is None:
            del scope.bound[name]
        else:
            scope.bound[name] = outer


def _warn_if_shadowed(scope: Scope, name: str, var: sp.Symbol, span: Span, what: str) -> None:
    """A file-level assumption on a name that a binder takes over does not apply inside it: say so."""
    declared = scope.symbols.get(name)
    if declared is None or scope.is_distribution_variable(name):
        return
    lost = [key for key, value in domain_of(declared).items()
            if value and key in _WORDS and getattr(var, f"is_{key}") is not True]
    if lost:
        words = " and ".join(_WORDS[k] for k in lost)
        scope.warn(span, f"'{name}' is declared {words} for the file, but here it is the variable of {what}: "
                         f"inside, it ranges over the whole range and that declaration does not apply")


def sum_bounds_problem(lo, hi) -> str | None:
    """Why (lo, hi) cannot bound a sum, or None."""
    for bound in (lo, hi):
        if bound.is_integer is not True and bound not in (sp.oo, -sp.oo):
            return f"the bound {bound} of a sum is not provably an integer"
    return None


MAX_PRODUCT_FACTORS = 1_000  # of a product over concrete bounds: SymPy multiplies them out whenever it is a number


def product_bounds_problem(lo, hi) -> str | None:
    """Why (lo, hi) cannot bound a product, or None: a sum's conditions, and a bounded number of factors."""
    problem = sum_bounds_problem(lo, hi)
    if problem:
        return problem.replace("of a sum", "of a product")
    if lo.is_Integer and hi.is_Integer and hi - lo + 1 > MAX_PRODUCT_FACTORS:
        return f"a product of {int(hi - lo + 1):,} factors; the limit is {MAX_PRODUCT_FACTORS:,}"
    return None


def integral_bounds_problem(lo, hi) -> str | None:
    for bound in (lo, hi):
        if bound.is_extended_real is not True:
            return f"the limit {bound} of an integral is not provably real"
    return None


# -- sizes and undefined values -------------------------------------------------------------

def bits(r: sp.Rational) -> int:
    return max(int(r.p).bit_length(), int(r.q).bit_length())


def too_big(value: sp.Basic) -> str | None:
    """Why `value`, just built by one operation, is too large to keep; None if it is fine.

    Only the value and its direct parts can be new (SymPy folds numbers into the
    coefficient of a sum or product, and merges powers of one base), so checking
    two levels after every operation bounds every number the expression holds.
    """
    parts = [value, *value.args]
    for part in list(parts):
        if part.is_Pow:
            parts.extend(part.args)
    for part in parts:
        if part.is_Rational and bits(part) > RESULT_BITS:
            return f"a number with more than {MAX_RESULT_DIGITS:,} digits"
        if part.is_Pow and part.exp.is_Number and abs(part.exp) > MAX_EXPONENT:
            return f"a power with an exponent above {MAX_EXPONENT:,}"
    return None


def power_problem(base: sp.Expr, exponent: sp.Expr) -> str | None:
    """Why base**exponent must not be built, checked BEFORE SymPy computes it: (2**999)**999."""
    if exponent.is_Number and abs(exponent) > MAX_EXPONENT:
        return f"the exponent {exponent} is too large; the limit is {MAX_EXPONENT:,}"
    for number in exponent.atoms(sp.Rational):  # 2**(10**99 + x) would be expanded later
        if abs(number.p) > MAX_EXPONENT or number.q > MAX_EXPONENT:
            return f"the exponent contains the number {number}; the limit is {MAX_EXPONENT:,}"
    if base == 0 and exponent.is_Number and exponent.is_nonpositive:
        return "a zero base with a nonpositive exponent is undefined (division by zero)"
    if base.is_number and exponent.is_Rational:
        size = sum(bits(r) for r in base.atoms(sp.Rational))
        if size * abs(exponent.p) > RESULT_BITS:
            return f"the number has more than {MAX_RESULT_DIGITS:,} digits"
    return None


def undefined(value: sp.Basic) -> bool:
    """nan or complex infinity, just made by one operation: log(0), 1/0, x*zoo, 2**(1/0)."""
    return any(part is sp.nan or part is sp.zoo for part in (value, *value.args))


def finish(expr):
    """The built expression (or equation sides) in canonical form."""
    if isinstance(expr, tuple):
        return tuple(canonical(e) for e in expr)
    return canonical(expr)
