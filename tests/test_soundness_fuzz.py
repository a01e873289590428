"""Property: the symbolic rules and the numeric sampler never disagree.

Claims are generated in pairs from textbook rewrites, some valid only under
conditions (log of a product for reals of unknown sign, sqrt(A**2) = A,
a sum of a constant over an integer range that may be empty, Gaussian moments
with a standard deviation that may be negative). Whatever the verdict, a proof
contradicted by a certified witness (status `error`) is an unsound rule.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from klproof.check.decide import Options
from klproof.errors import ParseError
from klproof.verdict import Status

from conftest import check_claim

ATOMS = ["a", "b", "t", "sigma", "2", "1/2", "3"]
POSITIVE = ["t", "sigma", "2", "1/2", "3"]


def pairs(depth: int):
    """(lhs, rhs) texts: rhs is lhs with rewrites applied, valid or not."""
    atom = st.sampled_from(ATOMS).map(lambda s: (s, s))
    if depth == 0:
        return atom
    sub = pairs(depth - 1)

    def rewrite(kind_and_parts):
        kind, (l1, r1), (l2, r2), bound, std = kind_and_parts
        return {
            "add": (f"({l1}) + ({l2})", f"({r1}) + ({r2})"),
            "mul": (f"({l1})*({l2})", f"({r1})*({r2})"),
            "div": (f"({l1})/({l2})", f"({r1})/({r2})"),
            "log_product": (f"log(({l1})*({l2}))", f"log({r1}) + log({r2})"),
            "log_square": (f"log(({l1})**2)", f"2*log({r1})"),
            "sqrt_square": (f"sqrt(({l1})**2)", f"{r1}"),
            "exp_sum": (f"exp(({l1}) + ({l2}))", f"exp({r1})*exp({r2})"),
            "square": (f"(({l1}) + ({l2}))**2", f"({r1})**2 + 2*({r1})*({r2}) + ({r2})**2"),
            "cancel": (f"({l1})*({l2})/({l2})", f"{r1}"),
            "sum_const": (f"Sum({l1}, (i, 1, {bound}))", f"({r1})*{bound}"),
            "sum_split": (f"Sum(({l1})*m[i] + {l2}, (i, 1, {bound}))",
                          f"({r1})*Sum(m[i], (i, 1, {bound})) + Sum({r2}, (i, 1, {bound}))"),
            "second_moment": (f"E(x**2 + {l1}, N(x, mu, {std}))", f"mu**2 + {std}**2 + {r1}"),
            "log_density": (f"E(log(N(x, mu, {std})), N(x, mu, {std}))", f"-log(sqrt(2*pi)*{std}) - 1/2 + 0*({r1})"),
            # valid only where l1 does not depend on t (t is an atom): the derivative's variable is t
            "derivative": (f"Derivative(({l1})*t**2, t)", f"2*t*({r1})"),
        }[kind]

    kinds = st.sampled_from(["add", "mul", "div", "log_product", "log_square", "sqrt_square", "exp_sum",
                             "square", "cancel", "sum_const", "sum_split", "second_moment", "log_density",
                             "derivative"])
    return st.tuples(kinds, sub, sub, st.sampled_from(["K", "J", "3"]), st.sampled_from(["sigma", "s", "t"])) \
        .map(rewrite) | atom


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(pairs(2))
def test_proof_and_witness_never_disagree(pair):
    lhs, rhs = pair
    try:
        verdict = check_claim(lhs, rhs, "algebra", options=Options(cross_check=True, points=4, timeout=5))
    except ParseError:
        return  # e.g. division by a literal zero: rejected before any checking
    assert verdict.status is not Status.ERROR, (lhs, rhs, verdict.detail, verdict.witness)


PROBABILITY_TERMS = ["P(z|X)", "P(X|z)", "P(z)", "P(X)", "P(z, X)", "Q(z|X)", "Q(z)", "Q(X|z)"]
PROBABILITY_REWRITES = [  # (lhs, rhs) templates, true and false, over a term A and a coefficient c
    ("log({A})", "log({A})"),
    ("P(z|X)", "P(X|z)*P(z)/P(X)"),
    ("P(z|X)", "P(X|z)*P(z)"),
    ("P(z|X)", "P(X|z)*P(X)/P(z)"),
    ("Sum(P(z, X), z)", "P(X)"),
    ("Sum(P(z|X), z)", "1"),
    ("Sum(P(z|X), X)", "1"),
    ("Sum(Q(z|X)*{A}, z)", "{A}"),
    ("Sum(Q(z|X)*({c} + log({A})), z)", "{c} + Sum(Q(z|X)*log({A}), z)"),
    ("E({c}*log({A}), Q(z|X))", "{c}*E(log({A}), Q(z|X))"),
    ("E(log(P(X)) + log({A}), Q(z|X))", "log(P(X)) + E(log({A}), Q(z|X))"),
    ("KL(Q(z|X), P(z|X))", "KL(P(z|X), Q(z|X))"),
    ("KL(Q(z|X), P(z|X))", "E(log(Q(z|X)) - log(P(X|z)) - log(P(z)), Q(z|X)) + log(P(X))"),
    ("KL(Q(z|X), P(z|X))", "E(log(Q(z|X)) - log(P(X|z)) - log(P(z)), Q(z|X)) - log(P(X))"),
    ("log(P(X)) - KL(Q(z|X), P(z|X))", "E(log(P(X|z)), Q(z|X)) - KL(Q(z|X), P(z))"),
    ("log(P(X)) - KL(Q(z|X), P(z|X))", "E(log(P(X|z)), Q(z|X)) + KL(Q(z|X), P(z))"),
    ("log({A}*{B})", "log({A}) + log({B})"),
    ("{A}/{B}", "{B}/{A}"),
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PROBABILITY_REWRITES), st.sampled_from(PROBABILITY_TERMS),
       st.sampled_from(PROBABILITY_TERMS), st.sampled_from(["1", "2", "a", "t"]))
def test_probability_rules_and_finite_models_never_disagree(template, a, b, c):
    lhs, rhs = (side.format(A=a, B=b, c=c) for side in template)
    try:
        verdict = check_claim(lhs, rhs, "algebra", options=Options(cross_check=True, points=4, timeout=5))
    except ParseError:
        return
    assert verdict.status is not Status.ERROR, (lhs, rhs, verdict.detail, verdict.witness)
