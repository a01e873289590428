"""The sampler's own meaning of the vocabulary, written from the definitions.

This module never imports the rules or the engine: it is the second, independent
semantics that `--cross-check` compares the rewrites against. An expression is
compiled once into Python closures over an environment keyed by Symbol objects
(so a bound variable is its binder's, whatever its name), and evaluated with
mpmath at a working precision:

- N(x; mu, sigma) is the density's formula, written out here;
- E_{x~N(mu, sigma)}[f], KL(q || p) = E_q[log q - log p] and integrals over the
  line are quadrature of f times the density, over pieces located from the
  density's mean and scale and split at the kinks of |.|; every integral is done
  by two quadrature rules (tanh-sinh and Gauss-Legendre), whose disagreement is
  part of the error bound;
- E over an abstract density, latent sums, Bayes: exact sums over a random joint
  model (every conditional computed from one joint table);
- Sum, Product, tr, det, dot: exact finite sums and products;
- a definition's body is evaluated with its parameters bound to the argument
  values, and is undefined where an argument violates its parameter's assumptions.

Precision adapts to what the evaluation sees: every sum records how many digits
cancelled and how small a term was next to the others, so the caller can raise
the precision until nothing relevant was lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable

import mpmath
import sympy as sp
from mpmath.libmp.libhyper import NoConvergence

from klproof import vocabulary as C
from klproof.check import quadrature
from klproof.check.derivative_semantics import compile_derivative, derivative_points
from klproof.check.quadrature import NotEvaluable, Undefined

MAX_EXPONENT = 10**50  # exp(t) for |t| beyond this is not computed (exp(exp(x)) at x = 1e9 would not end)
MAX_WORK = 200_000  # terms and quadrature nodes per evaluation: nested sums and integrals stay bounded
MAX_TERMS = 400  # a finite sum or product longer than this is not expanded
MAX_DIMENSIONS = 1  # quadrature over a diagonal Gaussian of at most this many dimensions (cost: nodes**d)


@dataclass
class Model:
    """A random finite probability model: each family's joint table over the supports of its slots."""

    supports: dict[str, tuple]  # slot name -> distinct exact values
    tables: dict[str, tuple[tuple[str, ...], dict[tuple, sp.Rational]]]  # family -> (slots, cell -> mass)

    _memo: dict = field(default_factory=dict, repr=False)

    def mass(self, family: str, assignment: dict[str, object]) -> sp.Rational:
        key = (family, tuple(sorted(assignment.items(), key=lambda kv: kv[0])))
        if key not in self._memo:
            slots, table = self.tables[family]
            index = {s: i for i, s in enumerate(slots)}
            if any(slot not in index for slot in assignment):
                raise NotEvaluable(f"{family} has no variable {sorted(set(assignment) - set(index))[0]}")
            self._memo[key] = sum((m for cell, m in table.items()
                                   if all(cell[index[s]] == v for s, v in assignment.items())), sp.Integer(0))
        return self._memo[key]


@dataclass
class Trace:
    """What one evaluation saw: digits lost to cancellation and absorption, the quadrature error bound."""

    cancelled: float = 0.0  # digits lost where large terms cancelled
    absorbed: float = 0.0  # digits a term sat below the others (needed to see it at all)
    zero_sums: bool = False
    work: int = 0  # terms summed and integrand values computed: bounded by MAX_WORK
    unlocated: bool = False  # an integral over the line whose mass no density or Gaussian factor locates
    inside_quadrature: int = 0  # sums at quadrature nodes are the quadrature's business
    quadrature_error: mpmath.mpf = field(default_factory=lambda: mpmath.mpf(0))
    quadrature: bool = False
    differenced: bool = False  # a derivative was taken of a value computed by quadrature

    def spend(self, amount: int) -> None:
        self.work += amount
        if self.work > MAX_WORK:
            raise NotEvaluable("too much work at one point (nested sums or integrals)")

    def note_sum(self, terms, total) -> None:
        if self.inside_quadrature:
            return
        big = max((abs(t) for t in terms), default=0)
        if not big:
            return
        small = min((abs(t) for t in terms if t), default=big)
        self.absorbed = max(self.absorbed, float(mpmath.log10(big / small)))
        if total:
            self.cancelled = max(self.cancelled, float(mpmath.log10(big / abs(total))))
        else:
            self.zero_sums = True  # cancelled to exactly 0: the caller looks again at a higher precision


@dataclass
class World:
    """One sample point: exact values of the free symbols, the model, and lazily sampled indexed values."""

    values: dict  # Symbol -> exact SymPy number
    model: Model
    indexed_value: Callable[[sp.Indexed], sp.Expr]  # samples base[k] inside its assumptions, once per point
    indexed: dict = field(default_factory=dict)  # Indexed -> exact value, filled on first use
    integrals: dict = field(default_factory=dict)  # computed line integrals (see Evaluator._line_integral)


Env = dict  # Symbol/Dummy/Indexed -> mpmath number (or a dict index -> number for a vector)
Compiled = Callable[[Env], object]


def to_mp(value) -> mpmath.mpf | mpmath.mpc:
    """An exact SymPy number at the current precision."""
    value = sp.sympify(value)
    re, im = value.as_real_imag()
    real = mpmath.mpf(int(re.p)) / int(re.q) if re.is_Rational else mpmath.mpf(str(sp.Float(re, mpmath.mp.dps)))
    if im == 0:
        return real
    imag = mpmath.mpf(int(im.p)) / int(im.q) if im.is_Rational else mpmath.mpf(str(sp.Float(im, mpmath.mp.dps)))
    return mpmath.mpc(real, imag)


def is_real(value) -> bool:
    return not isinstance(value, mpmath.mpc) or value.imag == 0


def real(value) -> mpmath.mpf:
    if not is_real(value):
        raise Undefined("a complex value where a real one is needed")
    return value.real if isinstance(value, mpmath.mpc) else value


def as_integer(value) -> int:
    value = real(value)
    if value != mpmath.floor(value):
        raise Undefined("a non-integer summation bound")
    return int(value)


def normal(x, mu, sigma):
    """The normal density's formula: exp(-(x - mu)^2 / (2 sigma^2)) / (sqrt(2 pi) sigma)."""
    sigma = real(sigma)
    if not sigma > 0:
        raise Undefined("a normal density with sigma <= 0")
    return mpmath.exp(-((x - mu) ** 2) / (2 * sigma**2)) / (mpmath.sqrt(2 * mpmath.pi) * sigma)


class Evaluator:
    """Compiles expressions to closures and evaluates them at one world and one precision."""

    def __init__(self, world: World, trace: Trace, member: Callable[[sp.Basic, object], bool], quad_dps: int = 20,
                 quad_level: int = 4):
        self.quad_dps = quad_dps
        self.quad_level = quad_level  # Gauss-Legendre orders quad_level and quad_level + 1
        self._integrals = world.integrals  # shared by every precision at this point
        self._seen: set = set()
        self._indexed: dict = {}  # (base, k) -> value at this precision
        self.world = world
        self.trace = trace
        self.member = member  # (symbol, mp value) -> inside the symbol's declared domain?
        self._compiled: dict = {}

    # -- entry point ------------------------------------------------------------------

    def value(self, expr: sp.Expr):
        env = {s: to_mp(v) for s, v in self.world.values.items()}
        return self.compile(expr)(env)

    def compile(self, e: sp.Basic) -> Compiled:
        key = e
        if key not in self._compiled:
            self._compiled[key] = self._build(e)
        return self._compiled[key]

    # -- the meaning of each node -----------------------------------------------------------

    def _build(self, e: sp.Basic) -> Compiled:
        if e.is_Number or e in (sp.pi, sp.E, sp.I, sp.EulerGamma):
            if e.is_Rational or e is sp.I:
                constant = to_mp(e)  # an evaluator works at one precision: converted once
                return lambda env: constant
            if e.is_Float:
                text = str(e)
                return lambda env: mpmath.mpf(text)
            if e is sp.pi:
                return lambda env: +mpmath.pi
            if e is sp.E:
                return lambda env: mpmath.e + 0
            if e is sp.EulerGamma:
                return lambda env: +mpmath.euler
            raise NotEvaluable(f"the number {e} has no finite value")
        if isinstance(e, (sp.Symbol, sp.Indexed)):
            return self._variable(e)
        if isinstance(e, sp.Add):
            parts = [self.compile(a) for a in e.args]
            trace = self.trace

            def add(env):
                terms = [p(env) for p in parts]
                total = mpmath.fsum(terms)
                trace.note_sum(terms, total)
                return total
            return add
        if isinstance(e, sp.Mul):
            parts = [self.compile(a) for a in e.args]
            return lambda env: mpmath.fprod(p(env) for p in parts)
        if isinstance(e, sp.Pow):
            return self._power(e)
        handler = _HANDLERS.get(type(e))
        if handler is not None:
            return handler(self, e)
        for cls, fn in _FUNCTIONS.items():
            if isinstance(e, cls):
                parts = [self.compile(a) for a in e.args]
                return _guarded(fn, parts)
        raise NotEvaluable(f"no numeric meaning for {type(e).__name__}")

    def _variable(self, e) -> Compiled:
        if isinstance(e, sp.Symbol):
            def lookup(env):
                try:
                    return env[e]
                except KeyError:
                    raise NotEvaluable(f"unbound symbol {e}") from None
            return lookup
        base, (index,) = e.base, e.indices
        index_fn = self.compile(index)
        world, converted = self.world, self._indexed

        def indexed(env):
            if e in env:  # bound as a whole (E over N(z[j], ...))
                return env[e]
            k = as_integer(index_fn(env))
            if (base, k) not in converted:
                item = base[k]
                if item not in world.indexed:
                    world.indexed[item] = world.indexed_value(item)
                converted[(base, k)] = to_mp(world.indexed[item])
            return converted[(base, k)]
        return indexed

    def _power(self, e: sp.Pow) -> Compiled:
        base, exponent = self.compile(e.base), self.compile(e.exp)

        def power(env):
            b, x = base(env), exponent(env)
            if b == 0 and (not is_real(x) or real(x) <= 0):
                raise Undefined("0 to a non-positive power")
            if b != 0 and abs(x) * (1 + abs(mpmath.log(abs(b)))) > MAX_EXPONENT:
                raise Undefined("a power too large to evaluate")
            return mpmath.power(b, x)
        return power

    # -- vocabulary -------------------------------------------------------------------------

    def _normal(self, e: C.Normal) -> Compiled:
        x, mu, sigma = (self.compile(a) for a in e.args)
        return lambda env: normal(x(env), mu(env), sigma(env))

    def _bernoulli(self, e: C.Bernoulli) -> Compiled:
        """p at 1, 1 - p at 0, for p in [0, 1]; elsewhere no claim is made."""
        x, p = (self.compile(a) for a in e.args)

        def mass(env):
            value, chance = x(env), real(p(env))
            if not 0 <= chance <= 1:
                raise Undefined("a Bernoulli parameter outside [0, 1]")
            if value == 1:
                return chance
            if value == 0:
                return 1 - chance
            raise NotEvaluable("a Bernoulli mass outside its support {0, 1}")
        return mass

    def _normal_diag(self, e: C.NormalDiag) -> Compiled:
        z, mu, sigma, j, a, b = e.args
        mu_fn, sigma_fn, a_fn, b_fn = self.compile(mu), self.compile(sigma), self.compile(a), self.compile(b)

        def density(env):
            vector = env.get(z)
            if not isinstance(vector, dict):
                raise NotEvaluable(f"the vector {z} of a diagonal Gaussian has no value here")
            total = mpmath.mpf(1)
            for k in _range(a_fn(env), b_fn(env)):
                inner = {**env, j: mpmath.mpf(k)}
                total *= normal(vector[k], mu_fn(inner), sigma_fn(inner))
            return total
        return density

    def _prob(self, e: C.Prob) -> Compiled:
        family = e.family
        targets, givens = e.targets, e.givens
        for v in (*targets, *givens):
            if not isinstance(v, sp.Symbol):
                raise NotEvaluable(f"a probability of {v}, which is not a variable")
        model = self.world.model
        supports = {name: [(to_mp(v), v) for v in values] for name, values in model.supports.items()}

        def slot_values(env, variables):
            out = {}
            for v in variables:
                if v not in env:
                    raise NotEvaluable(f"{family} depends on the unbound variable {v}")
                value = env[v]
                match = [exact for approx, exact in supports.get(v.name, ()) if approx == value]
                if not match:
                    raise NotEvaluable(f"{v} takes a value outside the model's support (a continuous variable?)")
                if out.get(v.name, match[0]) != match[0]:
                    return None  # one slot, two values: an impossible event
                out[v.name] = match[0]
            return out

        def prob(env):
            joint = slot_values(env, (*targets, *givens))
            if joint is None:
                return mpmath.mpf(0)
            mass = model.mass(family, joint)
            if givens:
                mass = mass / model.mass(family, slot_values(env, givens))
            return to_mp(mass)
        return prob

    def _expectation(self, e: C.Expectation) -> Compiled:
        f, density, var = e.args
        return self._average(density, var, density * f)

    def _kl(self, e: C.KL) -> Compiled:
        q, p, var = e.args
        return self._average(q, var, q * (sp.log(q) - sp.log(p)))

    def _average(self, density, var, integrand_expr: sp.Expr) -> Compiled:
        """The sum or integral of `integrand_expr` (the density's formula times f) over var."""
        integrand = self.compile(integrand_expr)
        if isinstance(density, C.Prob):
            return self._support_sum(var, integrand)
        if isinstance(density, C.Normal):
            mu_fn, sigma_fn = self.compile(density.args[1]), self.compile(density.args[2])

            def gaussian(env):
                mu, sigma = real(mu_fn(env)), real(sigma_fn(env))
                if not sigma > 0:
                    raise Undefined("a normal density with sigma <= 0")
                return self._line_integral(integrand_expr, var, env, [(mu, sigma)])
            return gaussian
        if isinstance(density, C.NormalDiag):
            return self._diagonal_average(density, integrand)
        if isinstance(density, C.Bernoulli) and density.args[0] == var:
            trace = self.trace

            def finite(env):  # its support is {0, 1}: an exact sum
                trace.spend(2)
                return mpmath.fsum(integrand({**env, var: mpmath.mpf(v)}) for v in (0, 1))
            return finite
        raise NotEvaluable(f"no density {type(density).__name__}")

    def _diagonal_average(self, density: C.NormalDiag, integrand: Compiled) -> Compiled:
        z, mu, sigma, j, a, b = density.args
        mu_fn, sigma_fn, a_fn, b_fn = self.compile(mu), self.compile(sigma), self.compile(a), self.compile(b)

        def average(env):
            ks = _range(a_fn(env), b_fn(env))
            if len(ks) > MAX_DIMENSIONS:
                raise NotEvaluable(f"quadrature over a diagonal Gaussian in {len(ks)} dimensions")
            centres = []
            for k in ks:
                inner = {**env, j: mpmath.mpf(k)}
                centres.append((real(mu_fn(inner)), real(sigma_fn(inner))))

            def nested(level: int, vector: dict):
                if level == len(ks):
                    return integrand({**env, z: dict(vector)})
                mu_k, sigma_k = centres[level]
                return self._quad(lambda t: nested(level + 1, {**vector, ks[level]: t}),
                                  quadrature.pieces([(mu_k, sigma_k)], []))
            return nested(0, {})
        return average

    def _support_sum(self, var, integrand: Compiled) -> Compiled:
        support = self.world.model.supports.get(var.name)
        if support is None:
            raise NotEvaluable(f"{var} is not a variable of any distribution in the step")

        trace = self.trace

        def total(env):
            trace.spend(len(support))
            return mpmath.fsum(integrand({**env, var: to_mp(v)}) for v in support)
        return total

    def _latent_sum(self, e: C.LatentSum) -> Compiled:
        f, var = e.args
        body = self.compile(f)
        slots = {v.name for p in f.atoms(C.Prob) for v in (*p.targets, *p.givens) if v == var}
        if slots:  # a variable of the model: the sum over its values
            return self._support_sum(var, body)
        if var.is_real:  # a real variable no distribution ranges over: the integral over the line
            return lambda env: self._line_integral(f, var, env, self._centres(f, var, env))
        raise NotEvaluable(f"the sum over {var} has no range")

    def _integral(self, e: sp.Integral) -> Compiled:
        if len(e.limits) > 1:
            # Measured (issue 15): iterated quadrature at the sampler's precision needs ~170,000 integrand values
            # for a 2-D Gaussian over the plane (578 in 1-D; ~25 s a point) and over 5,000 even for
            # exp(u v)(u - v) on the unit square: beyond a step's time limit, so not attempted.
            raise NotEvaluable("a multiple integral (quadrature in two or more dimensions is beyond the sampler)")
        if len(e.limits) != 1 or len(e.limits[0]) != 3:
            raise NotEvaluable("an integral without one (x, a, b) range")
        (x, lo, hi), = e.limits
        body = self.compile(e.function)
        lo_fn, hi_fn = self.compile(lo) if lo.is_finite else None, self.compile(hi) if hi.is_finite else None
        if (lo_fn is None and lo != -sp.oo) or (hi_fn is None and hi != sp.oo):
            raise NotEvaluable("an integral with a complex or infinite bound")

        def integral(env):
            if lo_fn is None and hi_fn is None:
                return self._line_integral(e.function, x, env, self._centres(e.function, x, env))
            low = real(lo_fn(env)) if lo_fn else -mpmath.inf
            high = real(hi_fn(env)) if hi_fn else mpmath.inf
            kinks = self._kinks(e.function, x, env)
            ends = [low, *sorted(k for k in kinks if low < k < high), high]
            if lo_fn is None or hi_fn is None:
                # a half-line: an exp(b x) decaying away from the finite end locates the mass there
                anchor = (low, 1) if hi_fn is None else (high, -1)
                centre = self._centres(e.function, x, env, anchor)
                inner = [p for p in quadrature.pieces(centre, kinks) if low < p < high]
                ends = [low, *sorted(set(inner) | set(ends[1:-1])), high]
            sign = 1
            if high < low:
                ends, sign = list(reversed(ends)), -1
            return sign * self._quad(lambda t: body({**env, x: t}), ends if sign == 1 else sorted(ends))
        return integral

    def _sum(self, e: sp.Sum) -> Compiled:
        return self._finite(e, mpmath.fsum, 0)

    def _product(self, e: sp.Product) -> Compiled:
        return self._finite(e, mpmath.fprod, 1)

    def _finite(self, e, combine, empty) -> Compiled:
        """Sum(f, (i, ..), (k, ..)) is sum over k of (sum over i of f): the first range is the innermost."""
        body = self.compile(e.function)
        for limit in e.limits:
            if len(limit) != 3:
                raise NotEvaluable("a sum or product without a (j, a, b) range")
            body = self._over_range(body, *limit, combine, empty)
        return body

    def _over_range(self, body: Compiled, j, lo, hi, combine, empty) -> Compiled:
        lo_fn, hi_fn, trace = self.compile(lo), self.compile(hi), self.trace

        def finite(env):
            ks = _range(lo_fn(env), hi_fn(env))  # an empty range sums to 0 and multiplies to 1
            trace.spend(len(ks))
            terms = [body({**env, j: mpmath.mpf(k)}) for k in ks]
            total = combine(terms) if terms else mpmath.mpf(empty)
            if combine is mpmath.fsum:
                trace.note_sum(terms, total)
            return total
        return finite

    def _defined(self, e: C.Defined) -> Compiled:
        _, body, args = e.args
        params = body.variables
        arg_fns = [self.compile(a) for a in args]
        inner = self.compile(body.expr)
        member = self.member

        def apply(env):
            values = [fn(env) for fn in arg_fns]
            for param, value in zip(params, values, strict=True):
                if not member(param, value):
                    raise Undefined(f"an argument of {e.name} is outside its parameter's domain")
            return inner({**env, **dict(zip(params, values, strict=True))})
        return apply

    def _trace(self, e: C.Trace) -> Compiled:
        return self._diag_reduce(e, mpmath.fsum, 0)

    def _det(self, e: C.Det) -> Compiled:
        return self._diag_reduce(e, mpmath.fprod, 1)

    def _diag_reduce(self, e, combine, empty) -> Compiled:
        (m,) = e.args
        if not isinstance(m, C.Diag):
            raise NotEvaluable("tr and det of a matrix that is not diag(...)")
        f, j, a, b = m.args
        return self._finite(sp.Sum(f, (j, a, b)), combine, empty)

    def _dot(self, e: C.Dot) -> Compiled:
        u, v, j, a, b = e.args
        return self._finite(sp.Sum(u * v, (j, a, b)), mpmath.fsum, 0)

    # -- quadrature ----------------------------------------------------------------------------

    def _centres(self, f: sp.Expr, x, env, anchor: tuple | None = None) -> list[tuple]:
        """(mean, scale) of every normal density in x inside f, and of every exp(a x^2 + b x + c) with
        a < 0: where the integrand's mass is. Without one, the mass is not located (see Trace.unlocated)."""
        centres = []
        env = {**env, **derivative_points(self, f, env)}  # a density inside d/dmu sits near the point mu
        for n in f.atoms(C.Normal):
            if n.args[0] == x:
                try:
                    centres.append((real(self.compile(n.args[1])(env)), real(self.compile(n.args[2])(env))))
                except (NotEvaluable, Undefined, KeyError):
                    continue
        for n in f.atoms(sp.exp):
            centre = self._peak(n.args[0], x, env) or (self._decay(n.args[0], x, env, anchor) if anchor else None)
            if centre is not None:
                centres.append(centre)
        # A product of densities in x (N(x; m, s) N(y; c x, t), a linear-Gaussian chain) has its mass where the
        # exponents' sum peaks, which can lie far from every single density's centre.
        exponents = [-(n.args[0] - n.args[1]) ** 2 / (2 * n.args[2] ** 2) for n in f.atoms(C.Normal) if n.has(x)]
        exponents += [n.args[0] for n in f.atoms(sp.exp) if n.has(x)]
        if len(exponents) > 1:
            joint = self._peak(sp.expand(sp.Add(*exponents)), x, env)
            if joint is not None:
                centres.append(joint)
        centres = [(m, s) for m, s in centres if s > 0]
        if not centres:
            self.trace.unlocated = True
        return centres or [(mpmath.mpf(0), mpmath.mpf(1))]

    def _decay(self, exponent: sp.Expr, x, env, anchor: tuple) -> tuple | None:
        """(the finite end, 1/|b|) for exp(b x + c) on a half-line, when it decays away from that end."""
        end, direction = anchor
        try:
            poly = sp.Poly(exponent, x)
            if poly.degree() != 1:
                return None
            slope = real(self.compile(poly.all_coeffs()[0])(env))
        except (sp.PolynomialError, NotEvaluable, Undefined, KeyError):
            return None
        return (end, 1 / abs(slope)) if slope * direction < 0 else None

    def _peak(self, exponent: sp.Expr, x, env) -> tuple | None:
        """(where, width) of exp(P(x)) for a polynomial P of even degree with a negative leading
        coefficient: the highest maximum of P, and the width its curvature (or leading term) gives."""
        try:
            poly = sp.Poly(exponent, x)
        except sp.PolynomialError:
            return None
        degree = poly.degree()
        if degree < 2 or degree % 2 or degree > 12:
            return None
        try:
            coeffs = [real(self.compile(c)(env)) for c in poly.all_coeffs()]
        except (NotEvaluable, Undefined, KeyError):
            return None
        if not coeffs[0] < 0:
            return None
        value = lambda t: mpmath.polyval(coeffs, t)  # noqa: E731
        slope = [c * (degree - i) for i, c in enumerate(coeffs[:-1])]
        curve = [c * (degree - 1 - i) for i, c in enumerate(slope[:-1])]
        try:
            with mpmath.workdps(15):  # a location, not a value: double precision is plenty
                roots = [+r.real for r in mpmath.polyroots(slope, maxsteps=100, extraprec=40)
                         if abs(r.imag) <= mpmath.mpf(10) ** -3 * (1 + abs(r))]
        except NoConvergence:
            return None
        if not roots:
            return None
        top = max(roots, key=value)
        bend = mpmath.polyval(curve, top)
        width = 1 / mpmath.sqrt(-bend) if bend < 0 else abs(coeffs[0]) ** (-mpmath.mpf(1) / degree)
        return top, width

    def _kinks(self, f: sp.Expr, x, env) -> list:
        """Where an |a x + b| inside f turns: the integrand is not smooth there, quadrature must split."""
        out = []
        for n in f.atoms(sp.Abs, sp.sign, sp.Heaviside, sp.Max, sp.Min):
            if isinstance(n, (sp.Max, sp.Min)):
                raise NotEvaluable("quadrature of Max/Min")
            arg = n.args[0]
            if x not in arg.free_symbols:
                continue
            fn = self.compile(arg)
            try:
                v0, v1, v2 = (real(fn({**env, x: mpmath.mpf(t)})) for t in (0, 1, 2))
            except (Undefined, NotEvaluable):
                raise NotEvaluable("quadrature across a kink that cannot be located") from None
            slope = v1 - v0
            if abs((v2 - v1) - slope) > mpmath.mpf(10) ** (-mpmath.mp.dps // 2) * (1 + abs(v2)) or slope == 0:
                raise NotEvaluable("quadrature across a kink of |.| whose argument is not affine")
            out.append(-v0 / slope)
        return out

    def _line_integral(self, f: sp.Expr, x, env, centres) -> mpmath.mpf:
        """The integral of f over the real line in x. Both sides of a step often hold the same
        integral (a step rewrites a part): it is computed once per point, and its error counted once."""
        # Keyed by the inputs to quadrature precision, so a higher outer precision reuses it too.
        inputs = tuple(sorted(((s, env.get(s)) for s in f.free_symbols - {x}), key=lambda kv: str(kv[0])))
        if any(isinstance(v, dict) for _, v in inputs):
            key = None  # a vector value: no memo
        else:
            key = (f, x, self.quad_dps, self.quad_level,
                   tuple((s, None if v is None else mpmath.nstr(v, self.quad_dps + 5)) for s, v in inputs))
        if key is not None and key in self._integrals:
            value, error = self._integrals[key]
            if key not in self._seen:  # computed at another precision: its error counts here too
                self._seen.add(key)
                self.trace.quadrature, self.trace.quadrature_error = True, self.trace.quadrature_error + error
            return value
        body = self.compile(f)
        before = self.trace.quadrature_error
        value = self._quad(lambda t: body({**env, x: t}), quadrature.pieces(centres, self._kinks(f, x, env)))
        if key is not None:
            self._integrals[key] = (value, self.trace.quadrature_error - before)
            self._seen.add(key)
        return value

    def _quad(self, g: Callable, points: list):
        """Two quadrature rules over the located pieces; their disagreement joins the error bound."""
        self.trace.quadrature = True
        self.trace.inside_quadrature += 1
        try:
            # Quadrature is graded to half the digits (see numeric.compare), at its own precision.
            trace = self.trace

            def counted(t):
                trace.spend(1)
                return g(t)
            with mpmath.workdps(self.quad_dps):
                value, error = quadrature.integrate(counted, points, self.quad_level)
            # the rounding of the quadrature's own working digits is part of its error too
            self.trace.quadrature_error += error + abs(value) * mpmath.mpf(10) ** (4 - self.quad_dps)
            return value
        finally:
            self.trace.inside_quadrature -= 1


def _range(lo, hi) -> list[int]:
    a, b = as_integer(lo), as_integer(hi)
    if b - a + 1 > MAX_TERMS:
        raise NotEvaluable(f"a sum of {b - a + 1} terms (more than {MAX_TERMS})")
    return list(range(a, b + 1))


def _guarded(fn, parts) -> Compiled:
    def call(env):
        args = [p(env) for p in parts]
        try:
            return fn(*args)
        except (ZeroDivisionError, ValueError) as exc:
            raise Undefined(str(exc)) from None
    return call


def _bounded(fn):
    """fn, refused where its argument's size would make the result's exponent astronomical."""
    def call(x):
        if abs(x) > MAX_EXPONENT:
            raise Undefined(f"{fn.__name__} of an argument too large to evaluate")
        return fn(x)
    call.__name__ = getattr(fn, "__name__", "f")
    return call


def _log(x):
    if x == 0:
        raise Undefined("log of 0")
    return mpmath.log(x)


def _sign(x):
    return mpmath.sign(x)


_FUNCTIONS: dict[type, Callable] = {
    sp.exp: _bounded(mpmath.exp), sp.log: _log, sp.Abs: abs, sp.sin: _bounded(mpmath.sin), sp.cos: _bounded(mpmath.cos),
    sp.tan: _bounded(mpmath.tan),
    sp.asin: mpmath.asin, sp.acos: mpmath.acos, sp.atan: mpmath.atan, sp.sinh: _bounded(mpmath.sinh),
    sp.cosh: _bounded(mpmath.cosh), sp.tanh: mpmath.tanh, sp.gamma: _bounded(mpmath.gamma),
    sp.loggamma: _bounded(mpmath.loggamma),
    sp.erf: mpmath.erf, sp.erfc: mpmath.erfc, sp.sign: _sign, sp.re: mpmath.re, sp.im: mpmath.im,
    sp.conjugate: mpmath.conj, sp.factorial: _bounded(mpmath.factorial), sp.binomial: mpmath.binomial,
    sp.Max: lambda *a: max(real(v) for v in a), sp.Min: lambda *a: min(real(v) for v in a),
}

_HANDLERS: dict[type, Callable[[Evaluator, sp.Basic], Compiled]] = {
    C.Normal: Evaluator._normal, C.Bernoulli: Evaluator._bernoulli, C.NormalDiag: Evaluator._normal_diag, C.Prob: Evaluator._prob,
    C.Expectation: Evaluator._expectation, C.KL: Evaluator._kl, C.LatentSum: Evaluator._latent_sum,
    sp.Integral: Evaluator._integral, sp.Sum: Evaluator._sum, sp.Product: Evaluator._product,
    C.Defined: Evaluator._defined, C.Trace: Evaluator._trace, C.Det: Evaluator._det, C.Dot: Evaluator._dot,
    C.DerivativeAt: compile_derivative,  # finite differences of the body's own value
}
