"""The symbolic strategy: normalise lhs - rhs with the step's rewrites until it is 0.

Justification first: the rules the step's `by` names (with what they need) are
tried alone; if they do not close the step, every rule; then SymPy's `simplify`
on what is left, the one slow rung. The result is evidence (an `Attempt`), not
a verdict: `klproof.check.decide` turns evidence into verdicts.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import sympy as sp

from klproof.catalog import EVALUATION, RULES, with_prerequisites
from klproof.check.decide import InternalFailure
from klproof.check.gradient_rules import recording
from klproof.check.rules import PASSES, expectation, kl_definition
from klproof.model import Identity, Implication, Step
from klproof.printing import show
from klproof import vocabulary as C
from klproof.vocabulary.binders import anonymous, canonical, subst

MAX_ROUNDS = 4
ALL_RULES = frozenset(RULES) - {"simplify", EVALUATION}  # the last rungs are not rewrites


@dataclass(frozen=True)
class Attempt:
    proved: bool
    rules: tuple[str, ...]  # the rules that changed something on the way, in order
    stage: str  # "stated rules", "all rules", "simplify": the rung that closed it (or the last tried)
    residual: str = ""  # lhs - rhs in normal form, when not proved
    factor: str = ""  # for an equation that follows from the previous one: the factor between them
    forms: tuple[tuple[str, str], ...] = ()  # (rule, expression after it), when asked for
    residual_expr: sp.Expr | None = field(default=None, repr=False, compare=False)  # for the simplify rung
    blocked: tuple[tuple[str, int], ...] = ()  # (rule, index of its condition) a side condition stopped


def normal_form(expr: sp.Expr, allowed: frozenset[str], fired: list[str], forms: list | None = None,
                form_text=str) -> sp.Expr:
    for _ in range(MAX_ROUNDS):
        before = expr
        for rule, rewrite, triggers in PASSES:
            if rule not in allowed or not expr.has(*triggers):
                continue
            try:
                after = canonical(rewrite(expr))  # every rewrite's result in alpha-normal form
            except (MemoryError, RecursionError):  # resource limits, reported as such by the runner
                raise
            except Exception as exc:  # a bug in this rule: name it (decide turns it into an internal error)
                raise InternalFailure(rule) from exc
            if after != expr:
                if rule not in fired:
                    fired.append(rule)
                if forms is not None:
                    forms.append((rule, form_text(after)))
                expr = after
                if expr == 0:  # closed: the remaining rewrites (and the expand) would be wasted work
                    return expr
        expr = sp.expand(expr)
        if expr == before:
            break
    return expr


def is_zero(expr: sp.Expr) -> bool:
    if expr == 0:
        return True
    # Terms equal up to the names of their bound variables cancel (∫ f(x) dx - ∫ f(z) dz), except where
    # a name is a probability's slot (Σ_z P(z, X) and Σ_w P(w, X) are different marginals).
    if not expr.has(C.Prob) and anonymous(expr) == 0:
        return True
    if expr.has(sp.Integral, sp.Sum):  # together() would not look inside; expand already did
        return False
    return sp.expand(sp.numer(sp.together(expr))) == 0


def substitute(expr: sp.Expr, old: sp.Symbol, new: sp.Expr, target: sp.Expr) -> sp.Expr | None:
    """Change of variables old = a*u + b (a != 0) in every integral over the real line in `old`.

    The file names the variables (`substitute = "z = mu + sigma*eps"`); in the claim they are the bound
    variables of integrals, matched by name. u is the variable that `target` (the other side of the step)
    integrates over: z = mu + sigma*eps is affine in mu as well as in eps, and only the other side says
    which is meant. An integrand that already mentions a free variable named like u is left alone: the
    author's u and that free one would be confused.
    """
    bound = {n.limits[0][0] for n in target.atoms(sp.Integral) if len(n.limits) == 1}
    by_name = {s.name: s for s in new.free_symbols}
    candidates = sorted((u for u in bound if u.name in by_name and u.is_real), key=sp.default_sort_key)
    changed = False

    def transform(n: sp.Integral):
        nonlocal changed
        (var, lo, hi), = n.limits
        if var.name != old.name or (lo, hi) != (-sp.oo, sp.oo):
            return n
        for u in candidates:
            if any(s.name == u.name for s in n.function.free_symbols):
                continue  # a free variable of the integrand has the new variable's name: refuse
            image = new.xreplace({by_name[u.name]: u})  # the author's u is the integral's variable
            slope = sp.diff(image, u)
            if slope.has(u) or sp.expand(image - slope * u).has(u):
                continue  # not affine in u
            if slope.is_positive:
                jacobian = slope
            elif slope.is_negative:
                jacobian = -slope
            else:
                continue
            changed = True
            return sp.Integral(subst(n.function, {var: image}) * jacobian, (u, -sp.oo, sp.oo))
        return n

    out = expr.replace(lambda n: isinstance(n, sp.Integral) and len(n.limits) == 1 and len(n.limits[0]) == 3, transform)
    return canonical(out) if changed else None


def _ladder(step: Step):
    """(stage name, allowed rules), cheapest first."""
    if step.by:
        stated = with_prerequisites(step.by) | {"algebra"}
        yield "stated rules", stated
        if stated != ALL_RULES | {"algebra"}:
            yield "all rules", ALL_RULES
    else:
        yield "algebra", frozenset({"algebra"})
        yield "all rules", ALL_RULES


def prove(step: Step, record_forms: bool = False, allow_simplify: bool = True, form_text=str) -> Attempt:
    """Evidence for one step. With record_forms, Attempt.forms holds each stage's start and every
    rewrite's result, printed by `form_text` (str by default; `klproof explain` passes klproof.printing.show).

    Each stage starts again from the difference: a restricted stage may leave it in a form that a
    later rule no longer recognises (the normal density expanded inside E(f, N), say)."""
    claim = step.claim
    assert claim is not None, "an unreadable step is never proved (decide.check_step)"
    lhs = claim.lhs
    fired: list[str] = []
    if isinstance(claim, Identity) and step.substitution is not None:
        old, new = step.substitution
        changed = substitute(expectation(kl_definition(claim.lhs)), old, new,
                             expectation(kl_definition(claim.rhs)))
        if changed is not None:
            lhs = changed
            fired.append("substitution")
    difference = lhs - claim.rhs
    premise = claim.premise_lhs - claim.premise_rhs if isinstance(claim, Implication) else None
    forms: list | None = [] if record_forms else None
    stage, residual, before = "algebra", difference, list(fired)
    with recording() as blocked:  # side conditions that stopped a rewrite: the verdict names them
        for stage, allowed in _ladder(step):
            fired = list(before)
            if forms is not None:
                forms.append((f"[{stage}]", form_text(difference)))
            residual = normal_form(difference, allowed, fired, forms, form_text)
            if is_zero(residual):
                return Attempt(True, tuple(fired), stage, forms=tuple(forms or ()))
            if premise is not None:
                factor = _factor(residual, normal_form(premise, allowed, fired))
                if factor is not None:
                    fired.append("equation")
                    return Attempt(True, tuple(fired), stage, factor=str(factor), forms=tuple(forms or ()))
    attempt = Attempt(False, tuple(fired), stage, residual=show(residual), forms=tuple(forms or ()),
                      residual_expr=residual, blocked=tuple(sorted(blocked)))
    return simplify_rung(attempt, form_text) if allow_simplify else attempt


def simplify_rung(attempt: Attempt, form_text=str) -> Attempt:
    """The slow last rung: SymPy's simplify on what the rules left; sums and integrals evaluated by SymPy."""
    residual = attempt.residual_expr
    if attempt.proved or residual is None:
        return attempt
    if residual.has(sp.Integral, sp.Sum, sp.Product):
        return _evaluation_rung(attempt, residual, form_text)
    simplified = sp.simplify(residual)
    forms = attempt.forms + ((("simplify", form_text(simplified)),) if attempt.forms else ())
    if is_zero(sp.expand(simplified)):
        return Attempt(True, attempt.rules + ("simplify",), "simplify", forms=forms)
    return replace(attempt, forms=forms)


EVALUATION_SECONDS = 2.0  # SymPy's integrate can run for minutes: the rung gives up, the step stays unknown


class _OverBudget(Exception):
    pass


@contextmanager
def _budget(seconds: float):
    """Interrupt the block after `seconds` of wall time (SIGALRM; only in a process's main thread, as
    workers and the test runner are; elsewhere the step's own time limit is the bound)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def interrupt(signum, frame):
        raise _OverBudget

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _evaluation_rung(attempt: Attempt, residual: sp.Expr, form_text) -> Attempt:
    """SymPy evaluates the sums and integrals the rules left (integrate, summation), as a notebook user's
    `simplify((lhs - rhs).doit())` would. SymPy's integration is not to be trusted blindly (it may drop the
    conditions of a Piecewise, or return a wrong parametric result), so a zero here is a candidate only:
    `decide` grades it proved when the independent numeric check agrees, and says so."""
    try:
        with _budget(EVALUATION_SECONDS):
            evaluated = residual.doit()
            if evaluated.has(sp.Piecewise, sp.Integral, sp.Sum, sp.Product):
                return attempt  # conditions or unevaluated parts: nothing SymPy could settle
            simplified = sp.simplify(evaluated)
    except (_OverBudget, ArithmeticError, ValueError, TypeError, NotImplementedError, AttributeError, RecursionError):
        return attempt  # SymPy could not evaluate it (in time): the step stays where the rules left it
    forms = attempt.forms + (((EVALUATION, form_text(simplified)),) if attempt.forms else ())
    if is_zero(sp.expand(simplified)):
        return Attempt(True, attempt.rules + (EVALUATION,), EVALUATION, forms=forms)
    return replace(attempt, forms=forms)


def _factor(conclusion: sp.Expr, premise: sp.Expr) -> sp.Expr | None:
    """c with conclusion = c * premise and c provably nonzero, if there is one."""
    if premise == 0:
        return None
    ratio = sp.cancel(sp.together(conclusion / premise))
    if ratio.is_nonzero and not ratio.has(sp.Integral, sp.Sum) and sp.expand(conclusion - ratio * premise) == 0:
        return ratio
    return None
