"""A symbol's declared domain: an interval with open or closed ends, or a finite set.

`p = "in (0, 1)"`, `p = "real, 0 < p < 1"`, `alpha = "in (0, 1]"`, `x = "in {0, 1}"`,
`k = "integer, 1 <= k <= K"`. SymPy's assumptions cannot say p < 1, so a symbol
with a domain is a `Bounded` symbol: its SymPy assumptions are what the domain
implies (p in (0, 1) is positive), and the domain itself travels with it to

- the prover, through `sign` (is 1 - p, 1 - a b, a (1 - a) positive on the
  declared domains?) and `atomize` (positive sub-expressions that SymPy cannot
  see as positive become positive placeholders, so that log and sqrt rules fire);
- the sampler, through `draw` and `contains`: every sampled point, hence every
  witness, lies inside the declared domain.

Declaration text is data: numbers are read by a regular expression into exact
rationals and names are looked up among the declared symbols; nothing is evaluated.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import sympy as sp

from klproof.errors import show

MAX_SET = 32  # values in a finite set
MAX_CORNERS = 256  # points enumerated by the sign oracle


@dataclass(frozen=True)
class Interval:
    """lo < x < hi (or <=, per end); an end None is infinite. Ends are SymPy numbers or declared symbols."""

    lo: sp.Expr | None
    hi: sp.Expr | None
    lo_open: bool = True
    hi_open: bool = True
    integer: bool = False

    def text(self, name: str) -> str:
        left = "" if self.lo is None else f"{self.lo} {'<' if self.lo_open else '<='} "
        right = "" if self.hi is None else f" {'<' if self.hi_open else '<='} {self.hi}"
        return f"{left}{name}{right}"


@dataclass(frozen=True)
class FiniteSet:
    values: tuple[sp.Rational, ...]

    def text(self, name: str) -> str:
        return f"{name} in {{{', '.join(map(str, self.values))}}}"


Domain = Interval | FiniteSet


class Bounded(sp.Symbol):
    """A declared symbol with a domain; its SymPy assumptions are derived from the domain.

    Not cached like a plain Symbol: two declarations with the same name but different domains are different symbols,
    and the domain is part of its hash, its equality and its `srepr` (hence of the cache key)."""

    def __new__(cls, name: str, domain: Domain, **assumptions):
        obj = sp.Symbol.__xnew__(cls, name, **assumptions)
        obj.domain = domain
        return obj

    def __getnewargs_ex__(self):
        return (self.name, self.domain), self._assumptions_orig

    def _hashable_content(self):
        # the domain as text: SymPy orders arguments by comparing these tuples, and two domains do not compare
        return super()._hashable_content() + (repr(self.domain),)

    def _sympyrepr(self, printer) -> str:
        return f"Bounded({self.name!r}, {self.domain!r}, {printer._print_dict(self._assumptions_orig)})"


def latex(d: Domain, name: str, name_latex) -> str:
    r"""The domain as LaTeX: p \in (0, 1), x \in \{0, 1\}, 1 \le k \le K (`name_latex` renders a symbol's name)."""
    def end(e):
        return name_latex(str(e)) if isinstance(e, sp.Symbol) else sp.latex(e)
    le, lt = r"\le", "<"
    if isinstance(d, FiniteSet):
        return name + r" \in \{" + ", ".join(sp.latex(v) for v in d.values) + r"\}"
    if d.lo is not None and d.hi is not None and d.lo.is_number and d.hi.is_number and not d.integer:
        return (name + r" \in " + ("(" if d.lo_open else "[") + f"{end(d.lo)}, {end(d.hi)}"
                + (")" if d.hi_open else "]"))
    left = "" if d.lo is None else f"{end(d.lo)} {lt if d.lo_open else le} "
    right = "" if d.hi is None else f" {lt if d.hi_open else le} {end(d.hi)}"
    return left + name + right + (r", \ \text{integer}" if d.integer else "")


def domain_of(symbol) -> Domain | None:
    return symbol.domain if isinstance(symbol, Bounded) else None


# -- reading a declaration ------------------------------------------------------------

_NUMBER = re.compile(r"^\s*(-?)\s*(\d+(?:\.\d+)?)(?:\s*/\s*(\d+))?\s*$")
_INTERVAL = re.compile(r"^in\s*([(\[])(.*),(.*)([)\]])$", re.DOTALL)
_SET = re.compile(r"^in\s*\{(.*)\}$", re.DOTALL)
_CHAIN = re.compile(r"(<=|>=|≤|≥|<|>)")


class DomainError(ValueError):
    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


_HINT = 'write e.g. "in (0, 1)", "in (0, 1]", "in {0, 1}", "real, 0 < p < 1" or "integer, 1 <= k <= K" (K declared above)'


def bounded_symbol(name: str, text: str, lookup: Callable[[str], sp.Expr | None],
                   read_words: Callable[[str], dict]) -> Bounded:
    """The symbol an assumption string with an interval or set declares; `read_words` reads the other words
    ("real", "integer") into SymPy assumptions. Raises DomainError with a hint."""
    words, parts = split_declaration(text)
    kwargs = read_words(words)
    if len(parts) != 1:
        raise DomainError(f"'{show(text, 60)}' declares {len(parts)} intervals or sets for {name}; write one",
                          f'e.g. {name} = "in (0, 1)" or "real, 0 < {name} < 1"')
    try:
        domain = parse_domain(parts[0], name, lookup, bool(kwargs.get("integer")))
    except DomainError as exc:
        raise DomainError(f"cannot read the domain of {name}: {exc}", _HINT) from None
    try:
        return Bounded(name, domain, **{**kwargs, **implied_assumptions(domain)})
    except Exception:  # SymPy rejects contradictory assumptions with several exception types
        raise DomainError(f"the assumptions '{show(text, 60)}' of {name} contradict its domain",
                          "drop the word that disagrees with the interval or set") from None


_PART = re.compile(r"\bin\s*(?:[(\[][^()\[\]]*[)\]]|\{[^{}]*\})")  # "in (0, 1]", "in {0, 1}"
_RELATION_CHARS = "<>≤≥"


def declares_domain(text: str) -> bool:
    return bool(_PART.search(text)) or any(c in text for c in _RELATION_CHARS)


def split_declaration(text: str) -> tuple[str, list[str]]:
    """("real, integer" words, [domain parts]) of an assumption string such as "real, 0 < p < 1"."""
    parts = _PART.findall(text)
    rest = _PART.sub(",", text).split(",")
    parts += [p for p in rest if any(c in p for c in _RELATION_CHARS)]
    return ",".join(p for p in rest if not any(c in p for c in _RELATION_CHARS)), parts


def _bound(text: str, lookup: Callable[[str], sp.Expr | None]) -> sp.Expr | None:
    """An end of an interval: a number (integer, decimal, fraction), oo/inf, or a declared symbol."""
    text = text.strip()
    if text in ("oo", "inf", "+oo", "+inf", "-oo", "-inf"):
        return None
    match = _NUMBER.match(text)
    if match:
        sign, number, denominator = match.groups()
        if len(text) > 40:
            raise DomainError(f"the number '{show(text, 20)}' is too long")
        if denominator and int(denominator) == 0:
            raise DomainError("division by zero in an interval end")
        value = Fraction(number) / (int(denominator) if denominator else 1)
        return sp.Rational(-value if sign else value)
    found = lookup(text)
    if found is None:
        raise DomainError(f"'{show(text, 40)}' is neither a number nor a declared symbol")
    return found


def parse_domain(part: str, name: str, lookup: Callable[[str], sp.Expr | None], integer: bool) -> Domain | None:
    """The domain one comma-free part of an assumption string declares, or None if it declares none.

    `lookup(name)` is a declared symbol (for ends such as K), or None."""
    part = part.strip()
    if match := _SET.match(part):
        values = [v for v in match.group(1).split(",")]
        if not 0 < len(values) <= MAX_SET:
            raise DomainError(f"a finite set has 1 to {MAX_SET} values")
        numbers = []
        for v in values:
            b = _bound(v, lambda _: None) if _NUMBER.match(v.strip()) else None
            if b is None:
                raise DomainError(f"'{show(v.strip(), 40)}' in a set is not a number")
            numbers.append(b)
        return FiniteSet(tuple(sorted(set(numbers))))
    if match := _INTERVAL.match(part):
        opener, lo, hi, closer = match.groups()
        return _checked(Interval(_bound(lo, lookup), _bound(hi, lookup), opener == "(", closer == ")", integer))
    if not _CHAIN.search(part):
        return None
    pieces = _CHAIN.split(part)
    items, ops = [p.strip() for p in pieces[0::2]], [_normal_op(o) for o in pieces[1::2]]
    if name not in items or items.count(name) != 1 or len(items) > 3:
        raise DomainError(f"write a bound on {name} as 'a < {name} < b', '{name} <= b' or 'in (a, b]'")
    if len(items) == 3 and (items[1] != name or ops[0][0] != ops[1][0]):
        raise DomainError(f"write a two-sided bound as 'a < {name} < b' (both '<' or '<=' pointing the same way)")
    lo = hi = None
    lo_open = hi_open = True
    where = items.index(name)
    for k, op in enumerate(ops):
        other = items[k] if k < where else items[k + 1]
        smaller_first = op[0] == "<"  # in 'a op b', a is the smaller one
        name_is_smaller = (k >= where) == smaller_first
        value = _bound(other, lookup)
        if value is None:
            continue
        if name_is_smaller:
            hi, hi_open = value, not op.endswith("=")
        else:
            lo, lo_open = value, not op.endswith("=")
    return _checked(Interval(lo, hi, lo_open, hi_open, integer))


def _normal_op(op: str) -> str:
    return {"≤": "<=", "≥": ">="}.get(op, op)


def _checked(domain: Interval) -> Interval:
    lo, hi = domain.lo, domain.hi
    if lo is not None and hi is not None and lo.is_number and hi.is_number:
        if lo > hi or (lo == hi and (domain.lo_open or domain.hi_open)):
            raise DomainError(f"the interval from {lo} to {hi} is empty")
        if domain.integer and not _integers_in(domain):
            raise DomainError(f"no integer lies in {domain.text('x')}")
    return domain


def _integers_in(d: Interval) -> list[int]:
    lo = int(sp.floor(d.lo)) if d.lo is not None else -4
    hi = int(sp.ceiling(d.hi)) if d.hi is not None else lo + 8
    return [k for k in range(lo, min(hi, lo + 64) + 1) if _inside(d, sp.Integer(k), {})]


def implied_assumptions(domain: Domain) -> dict:
    """The SymPy assumptions a domain implies (what SymPy can use by itself)."""
    out: dict = {"real": True}
    if isinstance(domain, FiniteSet):
        values = domain.values
        if all(v.is_integer for v in values):
            out["integer"] = True
    else:
        if domain.integer:
            out["integer"] = True
        values = []
        if domain.lo is not None and domain.lo.is_number:
            if domain.lo > 0 or (domain.lo == 0 and domain.lo_open):
                out["positive"] = True
            elif domain.lo >= 0:
                out["nonnegative"] = True
        elif domain.lo is not None and domain.lo.is_nonnegative:
            out["positive" if domain.lo.is_positive or domain.lo_open else "nonnegative"] = True
        if domain.hi is not None and domain.hi.is_number:
            if domain.hi < 0 or (domain.hi == 0 and domain.hi_open):
                out["negative"] = True
            elif domain.hi <= 0:
                out["nonpositive"] = True
        return out
    if all(v > 0 for v in values):
        out["positive"] = True
    elif all(v >= 0 for v in values):
        out["nonnegative"] = True
    elif all(v < 0 for v in values):
        out["negative"] = True
    elif all(v <= 0 for v in values):
        out["nonpositive"] = True
    if all(v != 0 for v in values) and "positive" not in out and "negative" not in out:
        out["nonzero"] = True
    return out


# -- the sampler's side: values inside a domain --------------------------------------------

def _inside(d: Domain, value: sp.Rational, point: dict) -> bool:
    if isinstance(d, FiniteSet):
        return value in d.values
    if d.integer and not value.is_integer:
        return False
    for end, is_lo, is_open in ((d.lo, True, d.lo_open), (d.hi, False, d.hi_open)):
        if end is None:
            continue
        end = end.xreplace(point) if end.free_symbols else end
        if not end.is_number:
            continue  # an end that depends on a value not drawn yet is checked by `contains` on the whole point
        ok = (value > end if is_open else value >= end) if is_lo else (value < end if is_open else value <= end)
        if not ok:
            return False
    return True


def contains(symbol, value, point: dict | None = None) -> bool:
    """value lies in symbol's domain; True without a domain. Ends that are other symbols (k <= K) are checked
    only with `point`, the values of the whole sample point, and then must have a value there."""
    d = domain_of(symbol)
    if d is None:
        return True
    if point is None:
        return _inside(d, value, {})
    if isinstance(d, Interval):
        for end in (d.lo, d.hi):
            if end is not None and end.free_symbols and not end.xreplace(point).is_number:
                return False  # an end whose value is unknown cannot be checked: not a point to use
    return _inside(d, value, point)


def draw(symbol, rng: random.Random, attempt: int) -> sp.Rational | None:
    """A value in symbol's domain, simple ones first (so that witnesses are simple); None without a domain.

    Ends that are symbols are ignored here; `contains` with the whole point checks them."""
    d = domain_of(symbol)
    if d is None:
        return None
    if isinstance(d, FiniteSet):
        return d.values[attempt % len(d.values)] if attempt < len(d.values) else rng.choice(d.values)
    lo = d.lo if d.lo is not None and d.lo.is_number else None
    hi = d.hi if d.hi is not None and d.hi.is_number else None
    if d.integer:
        start = int(sp.ceiling(lo)) if lo is not None else (int(sp.floor(hi)) - 4 if hi is not None else -2)
        stop = int(sp.floor(hi)) if hi is not None else start + 5
        candidates = [k for k in range(start, min(stop, start + 8) + 1) if _inside(d, sp.Integer(k), {})]
        if not candidates:
            return None
        return sp.Integer(candidates[attempt] if attempt < len(candidates) else rng.choice(candidates))
    if lo is not None and hi is not None:
        simple = [Fraction(1, 2), Fraction(1, 4), Fraction(3, 4), Fraction(1, 10), Fraction(9, 10), Fraction(1, 3),
                  Fraction(2, 3), Fraction(1, 100), Fraction(99, 100)]  # near the ends too: bounds often fail there
        t = simple[attempt] if attempt < len(simple) else Fraction(rng.randint(1, 99), 100)
        value = lo + (hi - lo) * sp.Rational(t.numerator, t.denominator)
        if not d.lo_open and attempt == len(simple):
            value = lo
        if not d.hi_open and attempt == len(simple) + 1:
            value = hi
        return sp.Rational(value)
    simple = [1, 2, Fraction(1, 2), 3, Fraction(1, 10), 5]
    step = simple[attempt] if attempt < len(simple) else Fraction(rng.randint(1, 40), rng.randint(1, 12))
    step_value = sp.Rational(step.numerator, step.denominator) if isinstance(step, Fraction) else sp.Integer(step)
    if lo is not None:
        return lo + step_value if d.lo_open or attempt else lo
    if hi is not None:
        return hi - step_value if d.hi_open or attempt else hi
    return step_value if attempt % 2 == 0 else -step_value


# -- the prover's side: signs over the declared domains ----------------------------------------

def _corners(symbols) -> list[dict] | None:
    """Every combination of the symbols' interval ends and set values; None if some domain has no finite corners."""
    axes = []
    for s in symbols:
        d = domain_of(s)
        if isinstance(d, FiniteSet):
            axes.append([(v, False) for v in d.values])
        elif isinstance(d, Interval) and d.lo is not None and d.hi is not None and d.lo.is_number \
                and d.hi.is_number and not d.integer:
            axes.append([(d.lo, d.lo_open), (d.hi, d.hi_open)])
        else:
            return None
    total = 1
    for a in axes:
        total *= len(a)
    if total > MAX_CORNERS:
        return None
    return [dict(zip(symbols, combo, strict=True)) for combo in itertools.product(*axes)]


def nonnegative(e: sp.Expr) -> bool:
    """e >= 0 on the declared domains: multilinear in its interval symbols and >= 0 at every corner
    (a convex combination of the corner values), or SymPy knows it."""
    if e.is_nonnegative:
        return True
    symbols = sorted(e.free_symbols, key=lambda s: s.name)
    if not symbols or not all(isinstance(s, sp.Symbol) and domain_of(s) is not None for s in symbols):
        return False
    interval_symbols = [s for s in symbols if isinstance(domain_of(s), Interval)]
    try:
        if interval_symbols and any(d > 1 for m in sp.Poly(e, *interval_symbols).monoms() for d in m):
            return False
    except sp.PolynomialError:
        return False
    corners = _corners(symbols)
    if corners is None:
        return False
    for corner in corners:
        value = e.xreplace({s: v for s, (v, _) in corner.items()})
        if not (value.is_Rational and value >= 0):
            return False
    return True


def _sign_by_corners(e: sp.Expr) -> int | None:
    """+1 / -1 if e is multilinear in its interval symbols and provably > 0 / < 0 on their box.

    A multilinear function on a box is a convex combination of its values at the corners, so it is
    > 0 on the closed box if it is > 0 at every corner; on a box open in every interval coordinate it
    is > 0 if it is >= 0 at every corner and not identically 0 (a zero inside would make it 0 on every
    axis line through that point, hence everywhere)."""
    symbols = sorted(e.free_symbols, key=lambda s: s.name)
    if not symbols or not all(isinstance(s, sp.Symbol) and domain_of(s) is not None for s in symbols):
        return None
    interval_symbols = [s for s in symbols if isinstance(domain_of(s), Interval)]
    try:
        poly = sp.Poly(e, *interval_symbols) if interval_symbols else None
    except sp.PolynomialError:
        return None
    if poly is not None and any(d > 1 for monom in poly.monoms() for d in monom):
        return None
    corners = _corners(symbols)
    if corners is None:
        return None
    for direction in (1, -1):
        ok = True
        for corner in corners:
            values = {s: v for s, (v, _) in corner.items()}
            value = (direction * e).xreplace(values)
            if not value.is_Rational:
                return None
            all_open = all(is_open for s, (_, is_open) in corner.items() if isinstance(domain_of(s), Interval))
            if value > 0:
                continue
            if value == 0 and all_open and interval_symbols:
                continue
            ok = False
            break
        if ok and interval_symbols:
            # the zero-at-open-corners case needs the restriction to each set value not identically zero
            fixed = [s for s in symbols if isinstance(domain_of(s), FiniteSet)]
            for combo in itertools.product(*[domain_of(s).values for s in fixed]):
                if sp.expand(e.xreplace(dict(zip(fixed, combo, strict=True)))) == 0:
                    ok = False
                    break
        if ok:
            return direction
    return None


def _sign_by_roots(e: sp.Expr) -> int | None:
    """+1 / -1 for a polynomial with rational coefficients in one interval symbol that has no real root in the
    interval (counted exactly, by Sturm sequences): it keeps the sign it has at one inside point."""
    symbols = list(e.free_symbols)
    if len(symbols) != 1 or not isinstance(domain_of(symbols[0]), Interval) or domain_of(symbols[0]).integer:
        return None
    s, d = symbols[0], domain_of(symbols[0])
    lo = d.lo if d.lo is not None and d.lo.is_number else None if d.lo is None else False
    hi = d.hi if d.hi is not None and d.hi.is_number else None if d.hi is None else False
    if lo is False or hi is False:
        return None  # an end that is another symbol
    try:
        poly = sp.Poly(e, s)
    except sp.PolynomialError:
        return None
    if poly.degree() < 1 or poly.degree() > 12 or not poly.domain.is_QQ and not poly.domain.is_ZZ:
        return None
    roots = poly.count_roots(lo, hi)
    roots -= sum(1 for end, is_open in ((lo, d.lo_open), (hi, d.hi_open)) if end is not None and is_open
                 and poly.eval(end) == 0)
    if roots:
        return None
    inside = (lo + hi) / 2 if lo is not None and hi is not None else (lo + 1 if lo is not None else
                                                                         hi - 1 if hi is not None else 0)
    value = poly.eval(inside)
    return None if value == 0 else 1 if value > 0 else -1


def sign(e: sp.Expr, depth: int = 0) -> int | None:
    """+1 if e is provably > 0 on the declared domains (and SymPy's assumptions), -1 if provably < 0, else None."""
    if e.is_positive:
        return 1
    if e.is_negative:
        return -1
    if depth > 8 or not any(domain_of(s) is not None for s in e.free_symbols):
        return None
    if e.is_Mul:
        total = 1
        for factor in e.args:
            s = sign(factor, depth + 1)
            if s is None:
                return None
            total *= s
        return total
    if e.is_Pow:
        base, exponent = e.as_base_exp()
        s = sign(base, depth + 1)
        if s == 1 and exponent.is_real:
            return 1
        if s == -1 and exponent.is_integer:
            return 1 if exponent.is_even else -1 if exponent.is_odd else None
        return None
    if isinstance(e, sp.exp):
        return 1 if e.args[0].is_real else None
    if isinstance(e, sp.log):
        inner = sign(e.args[0] - 1, depth + 1)
        return inner if inner is not None and sign(e.args[0], depth + 1) == 1 else None
    found = _sign_by_corners(e)
    if found is None:
        found = _sign_by_roots(e)
    if found is not None:
        return found
    if e.is_Add:
        factored = sp.factor(e)
        if factored != e and (factored.is_Mul or factored.is_Pow):
            return sign(factored, depth + 1)
        terms = [sign(t, depth + 1) for t in e.args]
        if all(t == 1 for t in terms):
            return 1
        if all(t == -1 for t in terms):
            return -1
    return None


def _bound_variables(*exprs: sp.Expr) -> set:
    from klproof import (
        vocabulary as C,  # the vocabulary package imports this module's neighbours
    )

    out: set = set()
    for e in exprs:
        for n in sp.preorder_traversal(e):
            if isinstance(n, (sp.Integral, sp.Sum, sp.Product)):
                out.update(limit[0] for limit in n.limits)
            elif isinstance(n, (C.LatentSum,)):
                out.add(n.args[1])
            elif isinstance(n, (C.Expectation, C.KL)):
                out.add(n.args[2])
            elif isinstance(n, C.NormalDiag):
                out.add(n.args[3])
    return out


def atomize(*exprs: sp.Expr) -> tuple[tuple[sp.Expr, ...], dict]:
    """exprs with each sum under a log or a non-integer power that is positive (negative) on the declared domains
    but not to SymPy replaced by a positive placeholder P (by -P); and the map back {P: the sum}.

    The same sum gets the same placeholder in every expression. Sound for proving an identity: what
    holds for every positive value of the placeholder holds for the one the sum takes."""
    back: dict = {}
    seen: dict = {}

    def placeholder(add: sp.Expr) -> sp.Expr:
        if add in seen:
            return seen[add]
        s = sign(add)
        if s is None:
            seen[add] = add
            return add
        factored = sp.factor(add)
        if factored != add and factored.is_Mul:  # a(1 - a): each factor on its own
            out = sp.Mul(*[placeholder(f) if f.is_Add else f for f in factored.args])
        else:
            atom = sp.Dummy(f"P{len(back) + 1}", positive=True)
            back[atom] = s * add
            out = s * atom
        seen[add] = out
        return out

    bound = _bound_variables(*exprs)  # a symbol bound by a binder ranges over the binder's range, not its domain

    def inside(sub: sp.Expr) -> sp.Expr:
        return sub.replace(lambda n: n.is_Add and not n.is_positive and not n.is_negative and not (n.free_symbols & bound)
                           and any(domain_of(s) is not None for s in n.free_symbols), placeholder)

    def rewrite(n):
        if isinstance(n, sp.log):
            return sp.log(inside(n.args[0]))
        base, exponent = n.as_base_exp()
        return sp.Pow(inside(base), exponent)

    def absolute(n: sp.Abs) -> sp.Expr:  # |a| = a or -a where the domains decide a's sign
        s = sign(n.args[0]) if not (n.args[0].free_symbols & bound) else None
        if s is None:
            return n
        back[sp.Dummy("abs")] = n  # marks that something changed
        return s * n.args[0]

    out = tuple(e.replace(lambda n: isinstance(n, sp.Abs), absolute) for e in exprs)
    out = tuple(e.replace(lambda n: isinstance(n, sp.log) or (n.is_Pow and not n.exp.is_integer), rewrite)
                for e in out)
    return out, back
