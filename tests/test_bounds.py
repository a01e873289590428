"""Inequality steps and interval assumptions (issue 13): tables of true and false bounds, the adversarial
cases of each rule's side conditions, and witnesses that stay inside the declared domains."""

from __future__ import annotations

import json
import random

import pytest
import sympy as sp
from conftest import ROOT, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from klproof.check.decide import Options, check_step
from klproof.errors import ParseError
from klproof.model import Bound, Relation, compose
from klproof.parse.file import read_derivation
from klproof.verdict import Status
from klproof.vocabulary import domains

SYMBOLS = {
    "x": "real", "y": "real", "u": "positive", "v": "positive", "z": "real", "X": "real",
    "p": "in (0, 1)", "q": "real, 0 < q < 1", "r": "in (0, 2)", "a": "in (0, 1]", "b": "in (0, 1)",
    "c": "real", "bit": "in {0, 1}", "K": "positive integer", "k": "integer, 1 <= k <= K",
}


def derivation(start: str, steps: list[tuple[str, str]] = (), symbols: dict | None = None, latex: bool = False) -> str:
    lines = ['title = "bounds"', "[symbols]"]
    lines += [f'{k} = "{v}"' for k, v in (symbols or SYMBOLS).items()]
    if symbols is None:
        lines += ["[distributions]", 'P = ["z", "X"]', 'Q = ["z", "X"]']
    lines += ["[[chain]]",
              f"{'latex' if latex else 'start'} = '''{start}'''"]
    for expr, by in steps:
        lines += ["[[chain.step]]", f"{'latex' if latex else 'expr'} = '''{expr}'''"]
        if by:
            lines.append(f'by = "{by}"')
    return "\n".join(lines) + "\n"


def read(start, steps=(), **kw):
    return read_derivation("bounds.toml", derivation(start, steps, **kw).encode())


def verdict_of(start: str, expr: str | None = None, by: str = "", options: Options | None = None):
    d = read(start, [(expr, by)] if expr is not None else [])
    return check_step(d.steps[-1], options or Options())


# (start, step, justification): each must be proved
TRUE_BOUNDS = [
    ("x**2 + 1", ">= 1", ""),
    ("x**2 + 1", "> 0", ""),
    ("(x - y)**2", ">= 0", "nonnegative terms"),
    ("exp(x) + u", "> u", ""),
    ("log(E(exp(x), N(x, 0, 1)))", ">= E(x, N(x, 0, 1))", "Jensen"),
    ("E(x**2, N(x, c, 1))", ">= E(x, N(x, c, 1))**2", "Jensen"),
    ("exp(E(x, N(x, c, 1)))", "<= E(exp(x), N(x, c, 1))", "Jensen"),
    ("sqrt(E(u*exp(x), N(x, 0, 1)))", ">= E(sqrt(u*exp(x)), N(x, 0, 1))", "Jensen"),
    ("log((u + v)/2)", ">= (log(u) + log(v))/2", "Jensen"),
    ("log(p*u + (1 - p)*v)", ">= p*log(u) + (1 - p)*log(v)", "Jensen"),
    ("KL(Q(z|X), P(z|X))", ">= 0", "Gibbs"),
    ("log(P(X)) - E(log(P(X, z)) - log(Q(z|X)), Q(z|X))", ">= 0", "Gibbs"),
    ("E(log(P(X|z)), Q(z|X)) - KL(Q(z|X), P(z))", "<= log(P(X))", "Gibbs"),
    ("log(u + 1)", "> log(u)", "monotonicity"),
    ("exp(x**2 + u)", ">= exp(u)", "monotonicity"),
    ("E(x**2 + 1, N(x, c, 1))", ">= E(1, N(x, c, 1))", "monotonicity"),
    ("u*log(u/v) + v*log(v/u)", ">= (u + v)*log((u + v)/(v + u))", "log-sum inequality"),
    ("log(1 - p)", "< 0", ""),
    ("1 - p*b", "> 0", ""),
    ("p*(1 - p)", "> 0", ""),
    ("-bit*log(p) - (1 - bit)*log(1 - p)", ">= 0", ""),
    ("sqrt(p*b)", "< 1", ""),
    ("KL(Bernoulli(x, p), Bernoulli(x, b))", ">= 0", "Gibbs"),
    ("-p*log(p) - (1 - p)*log(1 - p)", ">= 0", ""),  # the entropy of a Bernoulli(p): needs 1 - p < 1
    ("log(P(X))", ">= Sum(Q(z|X)*(log(P(X, z)) - log(Q(z|X))), z)", "Jensen"),  # E_Q written as a sum over z
]

# (start, step, justification): each must be refuted, never proved
FALSE_BOUNDS = [
    ("x**2 + 1", "<= 1", ""),  # wrong direction
    ("(x - 1)**2", "> 0", ""),  # equality at x = 1
    ("log(E(exp(x), N(x, 0, 1)))", "<= E(x, N(x, 0, 1))", "Jensen"),  # Jensen flipped
    ("exp(E(x, N(x, c, 1)))", ">= E(exp(x), N(x, c, 1))", "Jensen"),  # convex function treated as concave
    ("log((u + v)/2)", "<= (log(u) + log(v))/2", "Jensen"),
    ("log(c*u + (1 - c)*v)", ">= c*log(u) + (1 - c)*log(v)", "Jensen"),  # weights that may be negative
    ("E(log(P(X|z)), Q(z|X))", ">= log(P(X))", "Gibbs"),  # a KL term dropped
    ("log(P(X))", "<= E(log(P(X, z)) - log(Q(z|X)), Q(z|X))", "Jensen"),
    ("1 - p*b", "< 1 - p", ""),
    ("-log(p**bit * (1 - p)**(1 - bit))", "<= -bit*log(p)", ""),
    ("x", "> x - 1 + (x - 1)**2", ""),  # holds at some points only
    ("KL(Bernoulli(x, p), Bernoulli(x, b))", "> 0", "Gibbs"),  # 0 at p = b
    ("log(P(X))", "<= Sum(Q(z|X)*(log(P(X, z)) - log(Q(z|X))), z)", "Jensen"),
    ("log(Sum(P(X, z)*Q(z|X), z))", ">= Sum(P(X, z)*log(Q(z|X)), z)", "Jensen"),  # P(X, z) is not a density of z
]


@pytest.mark.parametrize("start,expr,by", TRUE_BOUNDS)
def test_true_bound_is_proved(start, expr, by):
    verdict = verdict_of(start, expr, by, Options(cross_check=True, points=3))
    assert verdict.status is Status.PROVED, (verdict.method, verdict.detail, verdict.witness)


@pytest.mark.parametrize("start,expr,by", FALSE_BOUNDS)
def test_false_bound_is_refuted_never_proved(start, expr, by):
    verdict = verdict_of(start, expr, by)
    assert verdict.status is Status.REFUTED, (verdict.method, verdict.detail)
    assert verdict.witness is not None


# side conditions that do not hold: the rule must not fire (the step may stay unknown or numeric)
NOT_PROVED = [
    ("log(E(x, N(x, 0, 1)))", ">= E(log(x), N(x, 0, 1))", "Jensen"),  # log of a g that may be negative
    ("sqrt(E(x, N(x, 0, 1)))", ">= E(sqrt(x), N(x, 0, 1))", "Jensen"),  # sqrt of a g that may be negative
    ("log(x + 1)", ">= log(x)", "monotonicity"),  # log of a side that may be negative
    ("log(1 - r)", "< 0", ""),  # r in (0, 2): 1 - r is not positive
    ("1 - a", "> 0", ""),  # a in (0, 1]: 0 at a = 1
    ("KL(Q(z|X), P(z|X))", "> 0", "Gibbs"),  # KL is 0 when q = p
    ("E(x, N(x, c, 1))", ">= 0", "nonnegative terms"),  # the mean c may be negative
]


@pytest.mark.parametrize("start,expr,by", NOT_PROVED)
def test_rule_does_not_fire_when_a_side_condition_fails(start, expr, by):
    verdict = verdict_of(start, expr, by, Options(numeric=False))
    assert verdict.status is not Status.PROVED, verdict.method


def test_bound_variable_does_not_borrow_the_files_assumption():
    # u is declared positive in the file, but the u bound by E over N(u, 0, 1) ranges over the reals
    verdict = verdict_of("E(u, N(u, 0, 1))", "> 0", "nonnegative terms", Options(numeric=False))
    assert verdict.status is not Status.PROVED


def test_diagnosis_says_which_relation_holds():
    verdict = verdict_of("x**2 + 1", "<= 1")
    assert "holds with ≥, not ≤" in verdict.diagnosis
    strict = verdict_of("(x - 1)**2", "> 0")
    assert "not >" in strict.diagnosis and dict(strict.witness.point)["x"] == "1"


# -- interval assumptions -------------------------------------------------------------------

def test_identities_that_need_the_interval_are_proved_inside_it_and_refuted_outside():
    inside = verdict_of("sqrt((1 - p)**2)", "1 - p")
    assert inside.status is Status.PROVED, inside.detail
    outside = verdict_of("sqrt((1 - r)**2)", "1 - r")
    assert outside.status is Status.REFUTED
    assert 1 < sp.Rational(dict(outside.witness.point)["r"]) < 2
    bernoulli = verdict_of("-log(p**bit * (1 - p)**(1 - bit))", "-bit*log(p) - (1 - bit)*log(1 - p)", "log rules")
    assert bernoulli.status is Status.PROVED and "declared intervals" in bernoulli.method
    roots = verdict_of("sqrt(q)*sqrt(1 - q)", "sqrt(q*(1 - q))")
    assert roots.status is Status.PROVED


@pytest.mark.parametrize("text,expected", [
    ("in (0, 1)", domains.Interval(sp.Integer(0), sp.Integer(1), True, True)),
    ("real, 0 < s < 1", domains.Interval(sp.Integer(0), sp.Integer(1), True, True)),
    ("in (0, 1]", domains.Interval(sp.Integer(0), sp.Integer(1), True, False)),
    ("in [-1/2, 0.5)", domains.Interval(sp.Rational(-1, 2), sp.Rational(1, 2), False, True)),
    ("s <= 3", domains.Interval(None, sp.Integer(3), True, False)),
    ("2 > s", domains.Interval(None, sp.Integer(2), True, True)),
    ("s >= 1", domains.Interval(sp.Integer(1), None, False, True)),
    ("in {1, 0, 1}", domains.FiniteSet((sp.Integer(0), sp.Integer(1)))),
    ("integer, 1 <= s <= 4", domains.Interval(sp.Integer(1), sp.Integer(4), False, False, True)),
])
def test_domain_spellings(text, expected):
    d = read("s", [("s", "")], symbols={"s": text})
    assert d.symbols["s"].domain == expected


@pytest.mark.parametrize("text,message", [
    ("in (1, 0)", "is empty"),
    ("in (1, 1]", "is empty"),
    ("integer, in (0, 1)", "no integer"),
    ("negative, in (0, 1)", "contradict"),
    ("in (0, L)", "neither a number nor a declared symbol"),
    ("in (0, 1), in {0}", "write one"),
    ("0 < t < 1", "write a bound on s"),
    ("1 < s > 0", "two-sided bound"),
    ("in {a, 1}", "not a number"),
    ("in (0, 1/0)", "division by zero"),
    ("in (0, " + "9" * 500 + ")", "too long"),
    ("in {" + ", ".join(map(str, range(40))) + "}", "1 to 32 values"),
])
def test_bad_domains_are_errors_with_a_hint(text, message):
    with pytest.raises(ParseError) as info:
        read("s", [("s", "")], symbols={"s": text})
    assert message in info.value.message and info.value.hint


def test_intervals_on_families_and_distribution_variables_are_refused():
    text = 'title = "t"\n[symbols]\nz = "in {0, 1}"\nX = "real"\n[distributions]\nP = ["z", "X"]\n' \
           '[[chain]]\nstart = "X"\n[[chain.step]]\nexpr = "X"\n'
    with pytest.raises(ParseError, match="distribution's variable"):
        read_derivation("t.toml", text.encode())
    text = 'title = "t"\n[families]\nm = "in (0, 1)"\n[symbols]\nX = "real"\n[[chain]]\nstart = "X"\n' \
           '[[chain.step]]\nexpr = "X"\n'
    with pytest.raises(ParseError, match="family m"):
        read_derivation("t.toml", text.encode())


def test_cache_key_and_equality_tell_domains_apart():
    one = read("s", [("s", "")], symbols={"s": "in (0, 1)"}).symbols["s"]
    two = read("s", [("s", "")], symbols={"s": "in (0, 2)"}).symbols["s"]
    assert one != two and sp.srepr(one) != sp.srepr(two) and one.is_positive and two.is_positive


@settings(max_examples=60, deadline=None)
@given(lo=st.fractions(-5, 5, max_denominator=7), width=st.fractions(1, 5, max_denominator=7),
       lo_open=st.booleans(), hi_open=st.booleans(), seed=st.integers(0, 10_000))
def test_drawn_values_lie_inside_the_domain(lo, width, lo_open, hi_open, seed):
    d = domains.Interval(sp.Rational(lo), sp.Rational(lo + width), lo_open, hi_open)
    s = domains.Bounded("s", d, real=True)
    rng = random.Random(seed)
    for attempt in range(20):
        value = domains.draw(s, rng, attempt)
        assert domains.contains(s, value), (value, d)


@settings(max_examples=25, deadline=None)
@given(cut=st.fractions(sp.Rational(1, 20), sp.Rational(19, 20), max_denominator=20))
def test_witnesses_lie_inside_the_declared_interval(cut):
    # 'p < cut' is false for p in [cut, 1): the witness must be a p in (0, 1) at or above cut
    verdict = verdict_of("p", f"< {cut.numerator}/{cut.denominator}")
    assert verdict.status is Status.REFUTED
    value = sp.Rational(dict(verdict.witness.point)["p"])
    assert 0 < value < 1 and value >= sp.Rational(cut)


def test_symbolic_interval_end_is_respected_by_the_sampler():
    verdict = verdict_of("k", "<= K - 1")
    assert verdict.status is Status.REFUTED
    point = dict(verdict.witness.point)
    assert sp.Rational(point["k"]) == sp.Rational(point["K"])


@settings(max_examples=40, deadline=None)
@given(coefficients=st.lists(st.integers(-3, 3), min_size=4, max_size=4))
def test_sign_oracle_agrees_with_exact_values(coefficients):
    """Whatever the oracle says about a multilinear c0 + c1 p + c2 b + c3 p b on (0,1)^2 holds at every grid point."""
    p, b = (domains.Bounded(n, domains.Interval(sp.Integer(0), sp.Integer(1)), real=True, positive=True)
            for n in ("p", "b"))
    c0, c1, c2, c3 = coefficients
    e = c0 + c1 * p + c2 * b + c3 * p * b
    sign = domains.sign(e)
    if sign is None:
        return
    for i in range(1, 10):
        for j in range(1, 10):
            value = e.xreplace({p: sp.Rational(i, 10), b: sp.Rational(j, 10)})
            assert value * sign > 0, (e, i, j)


# -- relations in chains and readers -------------------------------------------------------

@pytest.mark.parametrize("first,then,expected", [
    (Relation.EQ, Relation.GE, Relation.GE), (Relation.GE, Relation.EQ, Relation.GE),
    (Relation.GE, Relation.GT, Relation.GT), (Relation.LE, Relation.LE, Relation.LE),
    (Relation.LT, Relation.LE, Relation.LT), (Relation.GE, Relation.LE, None), (Relation.LT, Relation.GT, None),
])
def test_compose(first, then, expected):
    assert compose(first, then) == expected


def test_chain_relation_is_composed_and_a_reversal_is_an_error():
    d = read("x**2 + 2", [(">= 1", ""), ("1", ""), ("> 0", "")])
    assert d.chains[0].relation is Relation.GT
    assert [s.relation for s in d.steps] == [Relation.GE, Relation.EQ, Relation.GT]
    assert isinstance(d.steps[0].claim, Bound) and d.steps[0].claim.lhs == d.symbols["x"] ** 2 + 2
    # a reversal is that step's error (the others are still checked), and the chain keeps its relation
    d = read("x**2 + 2", [(">= 1", ""), ("<= 3", ""), (">= 0", "")])
    reversal = d.steps[1]
    assert reversal.claim is None and "≤ after a ≥ step (line" in reversal.error.message
    assert "new [[chain]]" in reversal.error.hint and reversal.span.line > 1
    assert d.chains[0].relation is Relation.GE
    verdicts = [check_step(s, Options()) for s in d.steps]
    assert [v.status for v in verdicts] == [Status.PROVED, Status.ERROR, Status.PROVED]


@pytest.mark.parametrize("latex,relation", [
    (r"x^2 + 1 \geq 1", Relation.GE), (r"x^2 + 1 \ge 1", Relation.GE), (r"1 \le x^2 + 1", Relation.LE),
    (r"1 \leq x^2 + 1", Relation.LE), (r"x^2 + 2 > 1", Relation.GT), (r"1 < x^2 + 2", Relation.LT),
])
def test_latex_relations(latex, relation):
    d = read(latex, latex=True)
    (step,) = d.steps
    assert step.claim.relation is relation and check_step(step, Options()).status is Status.PROVED


def test_latex_continuation_with_an_alignment_mark():
    d = read("x^2 + 1", [(r"&\geq 1", ""), (r"&> 0", "")], latex=True)
    assert [s.relation for s in d.steps] == [Relation.GE, Relation.GT]
    assert all(check_step(s, Options()).status is Status.PROVED for s in d.steps)


@pytest.mark.parametrize("start,steps,message", [
    (">= x", [], "cannot begin with a relation"),
    ("x", [(">= x == 1", "")], "cannot be an equation too"),
    ("x", [(">= 1", "both sides")], "needs a previous inequality"),
])
def test_relation_errors(start, steps, message):
    """A misplaced relation is an error with its line: the file's if it is the chain's start, else the step's."""
    try:
        d = read(start, steps)
    except ParseError as exc:
        assert message in exc.message
        return
    errors = [s.error for s in d.steps if s.error is not None]
    assert errors and message in errors[0].message and errors[0].span.line > 1


def test_reports_and_exports_show_the_relations(tmp_path):
    path = tmp_path / "b.toml"
    path.write_text(derivation("x**2 + 2", [(">= 1", "nonnegative terms"), ("> 0", "")]))
    result = run_cli("check", "--no-cache", "--format", "json", str(path))
    steps = json.loads(result.stdout)["files"][0]["steps"]
    assert [s["relation"] for s in steps] == [">=", ">"] and {s["chain_relation"] for s in steps} == {">"}
    terminal = run_cli("check", "--no-cache", str(path)).stdout
    assert "(concludes >)" in terminal
    markdown = run_cli("export", "--to", "markdown", str(path), cwd=tmp_path).stdout
    assert "&\\ge 1" in markdown and "&> 0" in markdown and "concludes: first expression >" in markdown
    latex = run_cli("export", str(path), cwd=tmp_path).stdout
    assert "\\ge 1" in latex and "> 0" in latex


def test_acceptance_files_pass_and_their_false_variants_are_refuted():
    result = run_cli("check", "--no-cache", "--format", "json", "proofs/004_elbo_bounds.toml",
                     "proofs/005_bernoulli_and_ddpm.toml", "examples/006_iwae_bound.toml", cwd=ROOT)
    assert result.returncode == 0, result.stdout[-2000:]
    result = run_cli("check", "--no-cache", "--format", "json", "examples/004_elbo_bounds_false_variants.toml",
                     "examples/005_bernoulli_and_ddpm_false_variants.toml", cwd=ROOT)
    steps = [s for f in json.loads(result.stdout)["files"] for s in f["steps"]]
    assert result.returncode == 1 and steps and all(s["status"] == "refuted" for s in steps)
    points = {k: sp.Rational(v) for s in steps for k, v in s["witness"]["point"] if k in ("p", "alpha_t", "alpha_s")}
    assert points and all(0 < v < 1 for v in points.values())


ATOMS = ["p", "1 - p", "p*b", "1 - p*b", "log(p)", "log(1 - p)", "(x - y)**2", "exp(x)", "bit", "1 - bit",
         "sqrt(p)", "u", "x", "KL(Q(z|X), P(z|X))"]


@settings(max_examples=40, deadline=None)
@given(terms=st.lists(st.tuples(st.integers(-2, 2), st.sampled_from(ATOMS)), min_size=1, max_size=4),
       relation=st.sampled_from([">=", ">", "<=", "<"]))
def test_proof_and_certified_witness_never_disagree(terms, relation):
    """Random sums of signed atoms against 0: a proof that a witness contradicts is an unsound rule."""
    expr = " + ".join(f"({c})*({a})" for c, a in terms)
    verdict = verdict_of(expr, f"{relation} 0", "", Options(cross_check=True, points=4))
    assert verdict.status is not Status.ERROR, (expr, relation, verdict.witness)


def test_an_inequality_follows_from_the_previous_one_by_monotonicity():
    d = read_derivation("m.toml", derivation("u >= v", [("log(u) >= log(v)", "apply log to both sides"),
                                                        ("3*log(u) + x >= 3*log(v) + x", "monotonicity"),
                                                        ("exp(u) >= exp(v) + 1", "monotonicity"),
                                                        ("log(u) <= log(v)", "both sides")]).encode())
    verdicts = [check_step(s, Options()) for s in d.steps]
    assert [v.status for v in verdicts] == [Status.REFUTED, Status.PROVED, Status.PROVED, Status.REFUTED,
                                            Status.REFUTED]
    assert d.steps[1].claim.premise is not None and d.steps[1].previous_text == "u >= v"
    # the witness of a step that follows from a premise satisfies the premise: exp(u) >= exp(v) + 1 fails
    # only where u >= v holds (3 log u + x >= 3 log v + x)
    point = {k: sp.Rational(v) for k, v in verdicts[3].witness.point}
    assert point["u"] >= point["v"]


def test_cache_key_covers_the_premise_and_its_assumptions():
    from klproof.check.cache import content_key

    def key(assumption: str) -> str:
        d = read_derivation("m.toml", derivation("u >= w", [("log(u) >= log(u)", "monotonicity")],
                                                 symbols={"u": "positive", "w": assumption}).encode())
        return content_key(d.steps[1], Options())
    assert key("positive") != key("in (0, 1)") != key("real")


@settings(max_examples=150, deadline=None)
@given(text=st.text(alphabet="in(){}[],<>=≤≥ 0123456789.-/sKabcrealpositveg", max_size=30))
def test_any_assumption_text_reads_or_is_a_parse_error(text):
    """Whatever a declaration says, reading it ends in a symbol or in a ParseError with a line, never a crash."""
    body = f'title = "t"\n[symbols]\nK = "positive integer"\ns = {json.dumps(text)}\n[[chain]]\nstart = "s"\n' \
           '[[chain.step]]\nexpr = "s"\n'
    try:
        d = read_derivation("t.toml", body.encode())
    except ParseError as exc:
        assert exc.span.line >= 1
        return
    s = d.symbols["s"]
    rng = random.Random(0)
    for attempt in range(5):
        value = domains.draw(s, rng, attempt)
        assert value is None or domains.contains(s, value)


def test_diagnosis_names_a_dropped_kl_term():
    verdict = verdict_of("E(log(P(X|z)), Q(z|X))", ">= log(P(X))", "Gibbs")
    assert verdict.status is Status.REFUTED
    assert "with -KL(Q(z|X), P(z)) added to the left side it holds with ≤" in verdict.diagnosis


@settings(max_examples=60, deadline=None)
@given(coefficients=st.lists(st.integers(-4, 4), min_size=2, max_size=5), lo_open=st.booleans(), hi_open=st.booleans())
def test_sign_of_a_polynomial_in_one_interval_symbol_agrees_with_exact_values(coefficients, lo_open, hi_open):
    s = domains.Bounded("s", domains.Interval(sp.Integer(0), sp.Integer(1), lo_open, hi_open), real=True)
    e = sum(c * s**k for k, c in enumerate(coefficients))
    sign = domains.sign(e)
    if sign is None:
        return
    points = [sp.Rational(i, 40) for i in range(41)]
    points = [v for v in points if (v > 0 or not lo_open) and (v < 1 or not hi_open)]
    for v in points:
        assert e.xreplace({s: v}) * sign > 0, (e, v)


def test_symbols_of_one_name_with_different_domains_order_and_differ():
    one = domains.Bounded("s", domains.Interval(sp.Integer(0), sp.Integer(1)), real=True, positive=True)
    two = domains.Bounded("s", domains.Interval(sp.Integer(0), sp.Integer(2), False, True), real=True)
    assert one != two and len((one + two + one * two).free_symbols) == 2
    assert sorted([one, two], key=sp.default_sort_key)
