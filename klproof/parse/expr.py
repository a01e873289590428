"""A safe parser for klproof's expression syntax: Python's grammar, a whitelist of meanings.

The text is parsed by `ast.parse` (which only builds a tree, it never runs
anything) and each node is translated by hand into SymPy objects. Nothing here
calls `eval`, `exec`, `sympify` or `parse_expr`; attribute access, strings,
lambdas, comprehensions, keywords and every name not declared by the file or
listed in BUILTINS are rejected before any evaluation. Sizes are bounded so that
a hostile file cannot make the parser itself run out of time or memory.
"""

from __future__ import annotations

import ast
import re
import unicodedata
import warnings
from fractions import Fraction
from typing import Any
from collections.abc import Callable

import sympy as sp
from sympy.core.symbol import Str

from klproof import vocabulary as C
from klproof.errors import FileLimitError, ParseError, Span, control_character, did_you_mean, show
from klproof.model import Related, Relation
from klproof.parse import build as B
from klproof.vocabulary import derivatives as D
from klproof.parse.build import (MAX_DEPTH, MAX_EXPANDED_NODES, MAX_EXPRESSION_CHARS, MAX_FILE_NODES,
                                 MAX_INTEGER_DIGITS, MAX_NODES, Scope)

_DECIMAL = re.compile(r"^(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$")


CONSTANTS: dict[str, Any] = {"pi": sp.pi, "oo": sp.oo, "inf": sp.oo}
# densities over one variable (their first argument) and that variable's domain
DENSITIES: dict[str, dict] = {"N": {"real": True}, "NormalDiag": {"real": True},
                               **{cls.syntax: cls.domain for cls in C.FINITE_DENSITIES}}


def parse_expression(text: str, scope: Scope, span: Span, allow_equation: bool = True,
                     locate: Callable[[int], tuple[int, int | None]] | None = None):
    """Parse `text`; return a SymPy expression, or (lhs, rhs) for `lhs == rhs`.

    `locate(i)` gives the (line, column) in the file of character i of `text`; without
    it, `span.col` (when known) is taken to be the column of the text's first character.
    """
    if not isinstance(text, str):
        raise ParseError(f"expected an expression in quotes, got {_type_name(text)}", span,
                         'write the expression as a string, e.g. expr = "x + 1"')
    where = _Where(span, locate)
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ParseError(f"expression is {len(text):,} characters long; the limit is {MAX_EXPRESSION_CHARS:,}",
                         where.at(0), "split the step into smaller steps")
    if not text.strip():
        raise ParseError("empty expression", span, 'write the expression, e.g. expr = "x + 1"')
    bad = control_character(text, allow="\t\n\r")
    if bad is not None:
        raise ParseError(f"expression contains the control character U+{ord(text[bad]):04X}", where.at(bad),
                         "remove it; expressions are plain text")
    foreign = next((i for i, c in enumerate(text) if not c.isascii()), None)
    if foreign is not None:  # Python folds ｘ, 𝐱 into x (NFKC): the report would show what was not checked
        c = text[foreign]
        raise ParseError(f"expression contains the non-ASCII character U+{ord(c):04X} "
                         f"({unicodedata.name(c, 'unnamed')})", where.at(foreign),
                         "expressions are ASCII: write names as declared (mu, sigma) and digits 0-9; "
                         "use latex = '...' for mathematical notation")
    # one line with the same offsets: a multi-line string is one expression; leading blanks are skipped
    source = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    leading = _LEADING.match(source) if allow_equation else None
    if leading and not source[leading.end():].strip():
        raise ParseError(f"nothing after the relation '{leading.group(1)}'", span,
                         f'write what the previous expression is {leading.group(1)}, e.g. expr = "{leading.group(1)} 0"')
    if leading:  # blanked out, so that offsets in the text stay the file's
        source = " " * leading.end() + source[leading.end():]
    lead = len(source) - len(source.lstrip(" "))
    where = _Where(span, locate, lead)
    source = source[lead:]
    try:
        with warnings.catch_warnings():  # e.g. "invalid decimal literal": the error below says it better
            warnings.simplefilter("ignore")
            tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        offset = min(max((exc.offset or 1) - 1, 0), len(source))
        message = exc.msg
        if "Exceeds the limit" in message:
            message = f"an integer literal has more than {MAX_INTEGER_DIGITS} digits"
        elif "too many nested parentheses" in message:
            message = f"expression is nested more than {MAX_DEPTH} levels deep"
        raise ParseError(f"cannot read expression: {message}", where.at(offset),
                         "expressions use Python-like syntax: x**2, log(x), P(z|X), Sum(f, (j, 1, J))") from None
    except (RecursionError, MemoryError, ValueError):
        raise ParseError(f"expression is nested more than {MAX_DEPTH} levels deep", where.at(0),
                         "split the step into smaller steps") from None
    scope.nodes_read += _check_size(tree, where.at(0))
    if scope.nodes_read > MAX_FILE_NODES:
        raise FileLimitError(f"the expressions of this file have more than {MAX_FILE_NODES:,} parts in all", where.at(0),
                         "split the derivation into several files")
    value = finish_related(_Translator(scope, where, source).top(tree.body, allow_equation))
    if leading:
        if isinstance(value, (tuple, Related)):
            raise ParseError("a step that starts with a relation continues the chain; it cannot be an equation too",
                             where.at(0), "write either '>= rhs' or 'lhs >= rhs'")
        return Related(_LEADING_RELATION[leading.group(1)], None, value)
    return value


def finish_related(value):
    """B.finish for what a reader returns, inequalities included."""
    if isinstance(value, Related):
        return Related(value.relation, None if value.lhs is None else B.finish(value.lhs), B.finish(value.rhs))
    return B.finish(value)


def _type_name(value) -> str:
    return {"int": "a number", "float": "a number", "bool": "true/false", "list": "an array",
            "dict": "a table"}.get(type(value).__name__, type(value).__name__)


class _Where:
    """Turns a character offset in the expression into a file position."""

    def __init__(self, span: Span, locate, shift: int = 0):
        self.span, self.locate, self.shift = span, locate, shift

    def at(self, offset: int) -> Span:
        offset += self.shift
        if self.locate is not None:
            try:
                line, col = self.locate(offset)
                return Span(self.span.path, line, col)
            except (IndexError, ValueError):
                return self.span
        if self.span.col:
            return Span(self.span.path, self.span.line, self.span.col + offset)
        return self.span


def _at(span: Span, col: int) -> Span:
    """`span` moved to the 1-based column `col` of the expression (kept for other readers)."""
    return _Where(span, None).at(col - 1)


def _check_size(tree: ast.AST, span: Span) -> int:
    count = 0
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ParseError(f"expression has more than {MAX_NODES:,} parts", span, "split the step into smaller steps")
        if depth > MAX_DEPTH:
            raise ParseError(f"expression is nested more than {MAX_DEPTH} levels deep", span,
                             "split the step into smaller steps")
        for child in ast.iter_child_nodes(node):
            # a long sum or product (a + b + c + ...) is a chain, read without recursion: no deeper
            same_chain = child is getattr(node, "left", None) and _is_chain(node) and _is_chain(child)
            stack.append((child, depth if same_chain else depth + 1))
    return count


_CHAIN_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div)


def _is_chain(node: ast.AST) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, _CHAIN_OPS)


def expanded_size(expr: sp.Basic, scope: Scope) -> tuple[int, dict]:
    """(tree size, occurrences of each symbol) of `expr` with every definition replaced by its body.

    Computed without expanding anything: a definition's size and symbol counts are
    known from its body, so a call costs its body plus each argument times the
    number of times its parameter occurs. Counts saturate just above the limit.
    """
    cap = MAX_EXPANDED_NODES + 1
    memo: dict = {}

    def measure(e: sp.Basic) -> tuple[int, dict]:
        if e in memo:
            return memo[e]
        if isinstance(e, C.Defined) and e.name in scope.expanded:
            size, occurs = scope.expanded[e.name]
            params = scope.definitions[e.name].variables
            occ: dict = {s: n for s, n in occurs.items() if s not in params}
            for param, arg in zip(params, e.args[2].args, strict=True):
                times = occurs.get(param, 0)
                if not times:
                    continue
                asize, aocc = measure(arg)
                size = min(cap, size + times * (asize - 1))
                for s, n in aocc.items():
                    occ[s] = min(cap, occ.get(s, 0) + times * n)
            result = (size, occ)
        elif e.is_Symbol:
            result = (1, {e: 1})
        else:
            size, occ = 1, {}
            for arg in e.args:
                asize, aocc = measure(arg)
                size = min(cap, size + asize)
                for s, n in aocc.items():
                    occ[s] = min(cap, occ.get(s, 0) + n)
            result = (size, occ)
        memo[e] = result
        return result

    return measure(expr)


class _Translator:
    def __init__(self, scope: Scope, where: _Where, source: str):
        self.scope = scope
        self.where = where
        self.span = where.span
        self.source = source
        self.encoded = source.encode("utf-8")

    # -- errors -------------------------------------------------------------
    def error(self, node: ast.AST, message: str, hint: str | None = None) -> ParseError:
        col = getattr(node, "col_offset", None)  # in UTF-8 bytes of the one-line source
        if col is None:
            return ParseError(message, self.span, hint)
        offset = len(self.encoded[:col].decode("utf-8", "ignore"))
        return ParseError(message, self.where.at(offset), hint)

    def segment(self, node: ast.AST, limit: int = 60) -> str:
        """The source of `node`, shortened and with unprintable characters escaped, for messages."""
        return show(ast.get_source_segment(self.source, node) or "?", limit)

    def checked(self, node: ast.AST, value):
        """`value`, built by `node`, after checking that it stays small."""
        why = B.too_big(value)
        if why:
            raise self.error(node, f"'{self.segment(node)}' makes {why}",
                             "klproof bounds numbers and powers so that no step can exhaust memory")
        if B.undefined(value):
            raise self.error(node, f"'{self.segment(node)}' is undefined ({value})",
                             "check for a division by zero, log(0) or oo - oo")
        return value

    # -- entry --------------------------------------------------------------
    def top(self, node: ast.AST, allow_equation: bool):
        if isinstance(node, ast.Compare):
            if not allow_equation:
                raise self.error(node, "an equation or inequality is not allowed here",
                                 "write an expression without '==', '<=' or '>='")
            if len(node.ops) != 1 or type(node.ops[0]) not in _RELATIONS:
                raise self.error(node, "only one relation 'lhs == rhs', 'lhs <= rhs', 'lhs >= rhs', '<' or '>' "
                                 "is supported", "a chained comparison a <= b <= c is two steps")
            lhs, rhs = self.expr(node.left), self.expr(node.comparators[0])
            relation = _RELATIONS[type(node.ops[0])]
            return (lhs, rhs) if relation is Relation.EQ else Related(relation, lhs, rhs)
        return self.expr(node)

    def expr(self, node: ast.AST) -> sp.Expr:
        method: Callable | None = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise self.error(node, f"'{self.segment(node)}' is not allowed in an expression",
                             _FORBIDDEN_HINTS.get(type(node).__name__, "use arithmetic, declared names and known functions"))
        return method(node)

    # -- leaves -------------------------------------------------------------
    def _Constant(self, node: ast.Constant):
        value = node.value
        if isinstance(value, complex):
            raise self.error(node, f"{self.segment(node)} is not a real number", "imaginary literals are not supported")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(node, f"{self.segment(node)} is not a number", "strings, booleans and None are not math")
        text = ast.get_source_segment(self.source, node) or ""
        text = text.replace("_", "")
        if isinstance(value, int):
            if len(text) > MAX_INTEGER_DIGITS:
                raise self.error(node, f"integer literal has {len(text)} digits; the limit is {MAX_INTEGER_DIGITS}",
                                 "klproof bounds numbers so that no step can exhaust memory")
            return sp.Integer(value)
        # a decimal literal means exactly what it says: 0.1 is 1/10, not a binary float;
        # its exponent is bounded before any power of ten is formed (1e999999999)
        match = _DECIMAL.match(text)
        if not match or len(match.group(3) or "") > 8:
            raise self.error(node, f"cannot read the number {show(text)}", f"at most {MAX_INTEGER_DIGITS} digits")
        whole, fraction, exponent = match.group(1), match.group(2) or "", int(match.group(3) or 0)
        digits = (whole + fraction).lstrip("0") or "0"
        scale = exponent - len(fraction)
        if len(digits) > MAX_INTEGER_DIGITS or abs(scale) > MAX_INTEGER_DIGITS \
                or len(digits) + max(scale, 0) > MAX_INTEGER_DIGITS:
            raise self.error(node, f"number {show(text)} is too large or too precise",
                             f"at most {MAX_INTEGER_DIGITS} digits")
        exact = Fraction(int(digits)) * Fraction(10) ** scale
        return sp.Rational(exact.numerator, exact.denominator)

    def _Name(self, node: ast.Name):
        name = node.id
        symbol = self.scope.symbol(name)
        if symbol is not None:
            return symbol
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in self.scope.families:
            raise self.error(node, f"'{name}' is an indexed family", f"write it with an index, e.g. {name}[j]")
        if name in BUILTINS or name in self.scope.definitions or name in self.scope.distributions:
            raise self.error(node, f"'{name}' is a function", f"call it, e.g. {name}(...)")
        raise self.error(node, f"unknown symbol '{show(name)}'",
                         did_you_mean(name, list(self.scope.symbols) + list(self.scope.families)))

    def _Subscript(self, node: ast.Subscript):
        if not isinstance(node.value, ast.Name) or node.value.id not in self.scope.families:
            base = self.segment(node.value)
            raise self.error(node, f"'{base}' is not an indexed family",
                             "declare it under [families], e.g. sigma = \"positive\"")
        index = self.expr(node.slice)
        if not index.is_integer:
            raise self.error(node.slice, f"index '{self.segment(node.slice)}' is not an integer",
                             'declare the index as an integer, e.g. j = "integer" under [symbols]')
        return self.scope.families[node.value.id][index]

    # -- arithmetic ---------------------------------------------------------
    def _UnaryOp(self, node: ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            return self.checked(node, -self.expr(node.operand))
        if isinstance(node.op, ast.UAdd):
            return self.expr(node.operand)
        raise self.error(node, f"operator in '{self.segment(node)}' is not supported", "use +, -, *, /, **")

    def _BinOp(self, node: ast.BinOp):
        spine = []  # a + b + c + ... is read along its left spine, without recursion
        while _is_chain(node) and _is_chain(node.left):
            spine.append(node)
            node = node.left  # type: ignore[assignment]  # _is_chain says it is a BinOp
        value = self._binary(node, self.expr(node.left))
        for outer in reversed(spine):
            value = self._binary(outer, value)
        return value

    def _binary(self, node: ast.BinOp, left_value):
        op = type(node.op)
        if op is ast.BitOr:
            raise self.error(node, "'|' is only allowed inside a probability, e.g. P(z|X)",
                             "declare the family under [distributions]")
        if op is ast.BitXor:
            raise self.error(node, "'^' is not a power here", "write powers as x**2")
        if op not in _ARITHMETIC:
            raise self.error(node, f"operator in '{self.segment(node)}' is not supported", "use +, -, *, /, **")
        left, right = left_value, self.expr(node.right)
        if op is ast.Pow:
            return self._power(node, left, right)
        if op is ast.Div and right == 0:
            raise self.error(node, "division by zero", "the denominator is zero for every value of the symbols")
        combine = _ARITHMETIC[op]
        assert combine is not None  # only ** has no entry, and it is handled above
        return self.checked(node, combine(left, right))

    def _power(self, node: ast.BinOp, base: sp.Expr, exponent: sp.Expr) -> sp.Expr:
        why = B.power_problem(base, exponent)
        if why:
            raise self.error(node, f"'{self.segment(node)}': {why}",
                             "klproof bounds numbers and powers so that no step can exhaust memory")
        return self.checked(node, sp.Pow(base, exponent))

    # -- calls --------------------------------------------------------------
    def _Call(self, node: ast.Call):
        if not isinstance(node.func, ast.Name):
            raise self.error(node, f"'{self.segment(node.func)}' cannot be called",
                             "call a known function or a definition by name, e.g. log(x)")
        if node.keywords:
            raise self.error(node, "keyword arguments are not supported", "pass arguments by position")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise self.error(node, "'*' arguments are not supported", "pass the arguments one by one")
        name = node.func.id
        if name in self.scope.distributions:
            return self._probability(node, name)
        if name in self.scope.definitions:
            return self._defined(node, name)
        if name in BUILTINS:
            builder, arities = BUILTINS[name]
            if len(node.args) not in arities:
                want = " or ".join(str(a) for a in arities)
                raise self.error(node, f"{name}() takes {want} argument{'s' if arities != (1,) else ''}, got {len(node.args)}",
                                 BUILTIN_USAGE[name])
            return self.checked(node, builder(self, node))
        if name == self.scope.defining:
            raise self.error(node.func, f"the definition '{name}' refers to itself",
                             "a definition may use only the definitions above it; recursion is not allowed")
        if name in self.scope.later_definitions:
            raise self.error(node.func, f"'{name}' is defined below '{self.scope.defining}'",
                             f"a definition may use only the definitions above it; move '{name}' up")
        raise self.error(node.func, f"unknown function '{show(name)}'",
                         did_you_mean(name, [*BUILTINS, *self.scope.definitions, *self.scope.distributions], "known function",
                                      "the README's 'Expressions' table lists the functions"))

    def _defined(self, node: ast.Call, name: str):
        body = self.scope.definitions[name]
        if len(node.args) != len(body.variables):
            raise self.error(node, f"{name}() takes {len(body.variables)} arguments, got {len(node.args)}",
                             f"{name} is defined with parameters ({', '.join(map(str, body.variables))})")
        call = C.Defined(Str(name), body, sp.Tuple(*[self.expr(a) for a in node.args]))
        size, _ = expanded_size(call, self.scope)
        if size > MAX_EXPANDED_NODES:
            raise self.error(node, f"'{self.segment(node)}' expands to more than {MAX_EXPANDED_NODES:,} parts "
                             "once its definitions are replaced by their bodies",
                             "nested definitions grow exponentially; write the step with fewer nested calls")
        return call

    def _probability(self, node: ast.Call, family: str):
        variables = self.scope.distributions[family]
        if len(node.args) == 1 and isinstance(node.args[0], ast.BinOp) and isinstance(node.args[0].op, ast.BitOr):
            targets = self._variables(node.args[0].left, family, variables)
            givens = self._variables(node.args[0].right, family, variables)
        else:
            targets = [self._variable(a, family, variables) for a in node.args]
            givens = []
        if not targets:
            raise self.error(node, f"{family}() needs at least one variable", f"e.g. {family}({variables[0]})")
        names = [t.name for t in targets + givens]
        if len(set(names)) != len(names):
            raise self.error(node, f"a variable appears twice in '{self.segment(node)}'", "write each variable once, e.g. P(z|X)")
        return C.Prob(sp.Symbol(family), sp.Tuple(*targets), sp.Tuple(*givens))

    def _variables(self, node: ast.AST, family: str, variables: tuple[str, ...]) -> list[sp.Symbol]:
        if isinstance(node, ast.Tuple):
            return [self._variable(e, family, variables) for e in node.elts]
        return [self._variable(node, family, variables)]

    def _variable(self, node: ast.AST, family: str, variables: tuple[str, ...]) -> sp.Symbol:
        if not isinstance(node, ast.Name) or node.id not in variables:
            raise self.error(node, f"'{self.segment(node)}' is not a variable of the distribution {family}",
                             f"{family} is declared over ({', '.join(variables)}); write e.g. {family}({variables[0]}|{variables[-1]})")
        return self.scope.symbol(node.id)

    # -- binders ------------------------------------------------------------
    def span_of(self, node: ast.AST) -> Span:
        return self.error(node, "").span or self.span

    def limits(self, node: ast.AST, what: str) -> tuple[ast.Name, sp.Expr | None, sp.Expr | None]:
        """(j, a, b) -> (the name j, a, b), a and b read in the enclosing scope; a bare name -> (name, None, None)."""
        if isinstance(node, ast.Name):
            return node, None, None
        if isinstance(node, ast.Tuple) and len(node.elts) == 3 and isinstance(node.elts[0], ast.Name):
            return node.elts[0], self.expr(node.elts[1]), self.expr(node.elts[2])
        raise self.error(node, f"the {what} range must be a variable or (variable, lower, upper)",
                         "e.g. Sum(f, (j, 1, J)) or Integral(f, x)")

    def bind(self, name: ast.Name, domain: dict, what: str):
        """Inside the `with`, `name` means a fresh variable with `domain`, not the file's symbol."""
        return B.binding(self.scope, name.id, domain, self.span_of(name), what)

    def index_range(self, node: ast.AST, what: str) -> tuple[ast.Name, sp.Expr, sp.Expr]:
        """(j, a, b) for a finite sum, product or diagonal: a and b must be integers."""
        name, lo, hi = self.limits(node, what)
        if lo is None or hi is None:
            raise self.error(node, f"{what} needs a range (j, 1, J)", "e.g. (j, 1, J)")
        problem = B.sum_bounds_problem(lo, hi)
        if problem:
            raise self.error(node, problem, "declare the bound as an integer under [symbols], e.g. J = \"positive integer\"")
        return name, lo, hi

    def latent_variable(self, name: ast.Name, what: str) -> dict:
        """The declared support of a variable summed over all its values."""
        if name.id not in self.scope.symbols:
            raise self.error(name, f"unknown variable '{show(name.id)}'",
                             "a sum over all values of a variable needs the variable declared under [symbols] "
                             "(and listed in a [distributions] entry); " + did_you_mean(name.id, list(self.scope.symbols)))
        return B.declared_domain(self.scope, name.id)

    def density_binder(self, node: ast.AST) -> tuple[ast.Name, dict]:
        """The variable a density written at `node` is over, and its domain, read before the density is built."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
            name = node.func.id
            first = node.args[0]
            if name in self.scope.distributions:
                if isinstance(first, ast.BinOp) and isinstance(first.op, ast.BitOr):
                    first = first.left
                if len(node.args) == 1 and isinstance(first, ast.Name):
                    return first, B.declared_domain(self.scope, first.id)
            elif name in DENSITIES and isinstance(first, ast.Name):
                return first, dict(DENSITIES[name])
        raise self.error(node, f"'{self.segment(node)}' is not a density over one variable",
                         "use N(x, mu, sigma), NormalDiag(z, ...) or a declared distribution such as Q(z|X)")

    def density(self, node: ast.AST, var: sp.Symbol):
        density = self.expr(node)
        if C.density_variable(density) != var:
            raise self.error(node, f"'{self.segment(node)}' is not a density over {var}",
                             "use N(x, mu, sigma), NormalDiag(...) or a declared distribution such as Q(z|X)")
        return density


_RELATIONS = {ast.Eq: Relation.EQ, ast.LtE: Relation.LE, ast.Lt: Relation.LT, ast.GtE: Relation.GE,
              ast.Gt: Relation.GT}
# A chain step may open with its relation to the previous expression: ">= E(log(g), q)".
_LEADING = re.compile(r"^\s*(<=|>=|<|>)")
_LEADING_RELATION = {"<=": Relation.LE, ">=": Relation.GE, "<": Relation.LT, ">": Relation.GT}

_ARITHMETIC = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: None,  # handled with bounds in _power
}

_FORBIDDEN_HINTS = {
    "Attribute": "attribute access is not allowed; call functions by name",
    "Lambda": "lambdas are not allowed; use [definitions]",
    "ListComp": "comprehensions are not allowed; use Sum(f, (j, 1, J))",
    "GeneratorExp": "comprehensions are not allowed; use Sum(f, (j, 1, J))",
    "SetComp": "comprehensions are not allowed",
    "DictComp": "comprehensions are not allowed",
    "JoinedStr": "strings are not math",
    "IfExp": "conditional expressions are not supported",
    "BoolOp": "'and'/'or' are not supported",
    "NamedExpr": "assignments are not allowed",
    "Starred": "'*' is not supported",
    "Tuple": "a tuple only appears as a range, e.g. Sum(f, (j, 1, J))",
    "List": "lists are not math",
    "Dict": "dicts are not math",
    "Set": "sets are not math",
    "Await": "not math",
    "Yield": "not math",
}


# -- built-in functions --------------------------------------------------------

def _unary(fn):
    return lambda t, node: fn(t.expr(node.args[0]))


def _sum(t: _Translator, node: ast.Call):
    name, lo, hi = t.limits(node.args[1], "sum")
    if lo is None:  # over all values of an abstract variable
        with t.bind(name, t.latent_variable(name, "sum"), f"a sum over all values of {name.id}") as var:
            return C.LatentSum(t.expr(node.args[0]), var)
    name, lo, hi = t.index_range(node.args[1], "a sum")
    with t.bind(name, B.range_domain({"integer": True}, lo, hi), f"the sum over {name.id}") as var:
        return sp.Sum(t.expr(node.args[0]), (var, lo, hi))


def _product(t: _Translator, node: ast.Call):
    name, lo, hi = t.index_range(node.args[1], "a product")
    problem = B.product_bounds_problem(lo, hi)
    if problem:
        raise t.error(node.args[1], problem, "write the product over a symbolic bound, e.g. (d, 1, D)")
    with t.bind(name, B.range_domain({"integer": True}, lo, hi), f"the product over {name.id}") as var:
        return sp.Product(t.expr(node.args[0]), (var, lo, hi))


def _integral(t: _Translator, node: ast.Call):
    if len(node.args) > 2:  # Integral(f, v, u): the first range innermost, as nested integrals (SymPy's order)
        inner = ast.copy_location(ast.Call(func=node.func, args=node.args[:2], keywords=[]), node.args[0])
        return _integral(t, ast.copy_location(ast.Call(func=node.func, args=[inner, *node.args[2:]], keywords=[]), node))
    name, lo, hi = t.limits(node.args[1], "integration")
    whole_line = lo is None or (lo == -sp.oo and hi == sp.oo)
    if whole_line and t.scope.is_distribution_variable(name.id):
        # over all values of an abstract distribution's variable: a sum or integral over its support
        with t.bind(name, t.latent_variable(name, "integral"), f"the integral over {name.id}") as var:
            f = t.expr(node.args[0])
        if f.has(C.Prob):
            return C.LatentSum(f, var)
        if not var.is_real:
            raise t.error(node.args[1], f"the integration variable '{var}' is not declared real",
                          f'declare it under [symbols], e.g. {var} = "real"')
        return sp.Integral(f, (var, -sp.oo, sp.oo))
    if lo is None:
        lo, hi = -sp.oo, sp.oo
    problem = B.integral_bounds_problem(lo, hi)
    if problem:
        raise t.error(node.args[1], problem, "integrate over real limits, e.g. (x, 0, oo)")
    with t.bind(name, B.range_domain({"real": True}, lo, hi), f"the integral over {name.id}") as var:
        return sp.Integral(t.expr(node.args[0]), (var, lo, hi))


def _expectation(t: _Translator, node: ast.Call):
    name, domain = t.density_binder(node.args[1])
    with t.bind(name, domain, f"the expectation over {name.id}") as var:
        density = t.density(node.args[1], var)
        return C.Expectation(t.expr(node.args[0]), density, var)


def _kl(t: _Translator, node: ast.Call):
    name, domain = t.density_binder(node.args[0])
    other, _ = t.density_binder(node.args[1])
    if other.id != name.id:
        raise t.error(node, f"KL compares densities over the same variable, got '{name.id}' and '{other.id}'",
                      BUILTIN_USAGE["KL"])
    with t.bind(name, domain, f"the KL divergence over {name.id}") as var:
        return C.KL(t.density(node.args[0], var), t.density(node.args[1], var), var)


def _normal(t: _Translator, node: ast.Call):
    x, mu, sigma = (t.expr(a) for a in node.args)
    if x.is_real is False or mu.is_real is False:
        raise t.error(node, "the variable and the mean of N must be real", "declare them real under [symbols]")
    return C.Normal(x, mu, sigma)


def _normal_diag(t: _Translator, node: ast.Call):
    if not isinstance(node.args[0], ast.Name):
        raise t.error(node.args[0], "the first argument of NormalDiag is its vector variable", BUILTIN_USAGE["NormalDiag"])
    z = t.expr(node.args[0])
    name, lo, hi = t.index_range(node.args[3], "NormalDiag")
    with t.bind(name, B.range_domain({"integer": True}, lo, hi), f"the product over {name.id}") as j:
        return C.NormalDiag(z, t.expr(node.args[1]), t.expr(node.args[2]), j, lo, hi)


def _diag(t: _Translator, node: ast.Call):
    name, lo, hi = t.index_range(node.args[1], "diag")
    with t.bind(name, B.range_domain({"integer": True}, lo, hi), f"diag over {name.id}") as j:
        return C.Diag(t.expr(node.args[0]), j, lo, hi)


def _dot(t: _Translator, node: ast.Call):
    name, lo, hi = t.index_range(node.args[2], "dot")
    with t.bind(name, B.range_domain({"integer": True}, lo, hi), f"the dot product over {name.id}") as j:
        return C.Dot(t.expr(node.args[0]), t.expr(node.args[1]), j, lo, hi)


def _derivative(t: _Translator, node: ast.Call):
    """Derivative(f, mu), Derivative(f, (mu, n)), diff(f, mu, n): d^n/dmu^n f at the point mu (see
    vocabulary/derivatives.py). The point is read in the enclosing scope, then mu is bound in f."""
    wrt, order_node = node.args[1], node.args[2] if len(node.args) == 3 else None
    if isinstance(wrt, ast.Tuple) and len(wrt.elts) == 2 and order_node is None:
        wrt, order_node = wrt.elts
    usage = BUILTIN_USAGE["Derivative"]
    if not isinstance(wrt, ast.Name):
        raise t.error(wrt, f"a derivative is taken with respect to a variable, not '{t.segment(wrt)}'", usage)
    order = 1
    if order_node is not None:
        value = t.expr(order_node)
        if not (value.is_Integer and 1 <= value <= D.MAX_ORDER):
            raise t.error(order_node, f"the order of a derivative must be a whole number from 1 to {D.MAX_ORDER}, "
                          f"got '{t.segment(order_node)}'", usage)
        order = int(value)
    point = t.expr(wrt)
    domain = D.variable_domain(point) if isinstance(point, sp.Symbol) else None
    if domain is None:
        what = "an integer" if point.is_integer else "not declared real" if isinstance(point, sp.Symbol) else \
            "not a variable"
        raise t.error(wrt, f"cannot differentiate with respect to '{wrt.id}': it is {what}",
                      f'differentiate with respect to a real variable, declared e.g. {wrt.id} = "real"')
    with t.bind(wrt, domain, f"the derivative with respect to {wrt.id}") as var:
        derivative = C.DerivativeAt(t.expr(node.args[0]), var, point, sp.Integer(order))
    implicit = D.implicit_dependence(derivative.body, var)
    if implicit:
        raise t.error(node, implicit, "e.g. Derivative((z - mu)/sigma, z) instead of Derivative(eps, z)")
    if D.total_order(derivative) > D.MAX_TOTAL_ORDER:
        raise t.error(node, f"nested derivatives of total order above {D.MAX_TOTAL_ORDER}", "split the step into smaller steps")
    return derivative


def _finite_density(cls):
    """A mass function of the vocabulary with a finite support, e.g. Bernoulli(x, p) (at a point: Bernoulli(1, p))."""
    def build(t: _Translator, node: ast.Call):
        return cls(*(t.expr(a) for a in node.args))
    return build


def _matrix_fn(cls):
    def build(t: _Translator, node: ast.Call):
        arg = t.expr(node.args[0])
        if not isinstance(arg, C.Diag):
            raise t.error(node.args[0], f"{cls.__name__.lower()}() is defined here for diagonal matrices",
                          "write e.g. tr(diag(sigma[j]**2, (j, 1, k)))")
        problem = B.product_bounds_problem(*arg.args[2:]) if cls is C.Det else None  # det diag(v) is a product
        if problem:
            raise t.error(node.args[0], problem, "write the dimension as a symbol, e.g. (j, 1, k)")
        return cls(arg)
    return build


BUILTINS: dict[str, tuple[Callable, tuple[int, ...]]] = {
    "exp": (_unary(sp.exp), (1,)),
    "log": (_unary(sp.log), (1,)),
    "ln": (_unary(sp.log), (1,)),
    "sqrt": (_unary(sp.sqrt), (1,)),
    "sin": (_unary(sp.sin), (1,)),
    "cos": (_unary(sp.cos), (1,)),
    "Abs": (_unary(sp.Abs), (1,)),
    "abs": (_unary(sp.Abs), (1,)),
    "N": (_normal, (3,)),
    "NormalDiag": (_normal_diag, (4,)),
    "E": (_expectation, (2,)),
    "KL": (_kl, (2,)),
    "Sum": (_sum, (2,)),
    "Product": (_product, (2,)),
    "Integral": (_integral, (2, 3, 4)),
    "diag": (_diag, (2,)),
    "tr": (_matrix_fn(C.Trace), (1,)),
    "det": (_matrix_fn(C.Det), (1,)),
    "dot": (_dot, (3,)),
    **{cls.syntax: (_finite_density(cls), (cls.arity,)) for cls in C.FINITE_DENSITIES},
    "Derivative": (_derivative, (2, 3)),
    "diff": (_derivative, (2, 3)),
    "grad": (_derivative, (2, 3)),
}

BUILTIN_USAGE = {
    "exp": "exp(x)", "log": "log(x), the natural logarithm", "ln": "ln(x), same as log(x)",
    "sqrt": "sqrt(x)", "Abs": "Abs(x)", "abs": "abs(x)", "sin": "sin(x), x in radians", "cos": "cos(x), x in radians",
    "N": "N(x, mu, sigma): the normal density in x, sigma the standard deviation",
    "NormalDiag": "NormalDiag(z, mu[j], sigma[j], (j, 1, J)): a diagonal Gaussian",
    "E": "E(f, density), e.g. E(log(P(X|z)), Q(z|X)) or E(x**2, N(x, mu, sigma))",
    "KL": "KL(q, p), e.g. KL(Q(z|X), P(z|X))",
    "Sum": "Sum(f, (j, 1, J)) or Sum(f, z) over all values of a latent z",
    "Product": "Product(f, (j, 1, J)): the product of f over j = 1..J",
    "Integral": "Integral(f, x) over the real line, or Integral(f, (x, a, b)); Integral(f, v, u) integrates v first",
    "diag": "diag(sigma[j]**2, (j, 1, k))", "tr": "tr(diag(...))", "det": "det(diag(...))",
    "dot": "dot(mu[j], mu[j], (j, 1, k)) for mu^T mu",
    "Bernoulli": "Bernoulli(x, p): the mass p^x (1 - p)^(1 - x) on x in {0, 1}, e.g. E(x, Bernoulli(x, p))",
    "Derivative": "Derivative(f, mu) or Derivative(f, (mu, 2)): d/dmu f, mu a declared real symbol",
    "diff": "diff(f, mu) or diff(f, mu, 2): the same as Derivative",
    "grad": "grad(f, mu): the gradient with respect to the scalar mu, the same as Derivative",
}
