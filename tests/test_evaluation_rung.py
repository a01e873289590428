"""The last rung: SymPy evaluates the sums and integrals the rules leave, and its result counts only where the
independent numeric check agrees (issue 14.4). True identities from standard tables are proved this way; their
near misses are refuted; nothing is proved on SymPy's word alone."""

from __future__ import annotations

import pytest

from klproof.check.decide import Options, check_step
from klproof.parse.file import read_derivation
from klproof.verdict import Status

HEADER = '''title = "tables"
[symbols]
x = "real"
m = "real"
lam = "positive"
lam1 = "positive"
lam2 = "positive"
b = "positive"
r = "positive"
J = "positive integer"
n = "positive integer"
'''

TABLE = [
    # exponential distribution: normalisation, mean, second moment, entropy (half-line integrals)
    ("Integral(lam*exp(-lam*x), (x, 0, oo))", "1", True),
    ("Integral(x*lam*exp(-lam*x), (x, 0, oo))", "1/lam", True),
    ("Integral(x**2*lam*exp(-lam*x), (x, 0, oo))", "2/lam**2", True),
    ("Integral(-lam*exp(-lam*x)*log(lam*exp(-lam*x)), (x, 0, oo))", "1 - log(lam)", True),
    # KL between two exponentials
    ("Integral(lam1*exp(-lam1*x)*(log(lam1*exp(-lam1*x)) - log(lam2*exp(-lam2*x))), (x, 0, oo))",
     "log(lam1) - log(lam2) + lam2/lam1 - 1", True),
    # finite sums: closed forms
    ("Sum(j, (j, 1, J))", "J*(J + 1)/2", True),
    ("Sum(j**2, (j, 1, J))", "J*(J + 1)*(2*J + 1)/6", True),
    ("Sum((1/2)**j, (j, 0, J))", "2 - (1/2)**J", True),
    # near misses: refuted, never proved
    ("Integral(x*lam*exp(-lam*x), (x, 0, oo))", "2/lam", False),
    ("Integral(x**2*lam*exp(-lam*x), (x, 0, oo))", "1/lam**2", False),
    ("Sum(j**2, (j, 1, J))", "J*(J + 1)*(2*J + 1)/3", False),
    ("Sum(j, (j, 1, J))", "J**2/2", False),
]


@pytest.mark.parametrize("start,claim,true", TABLE, ids=[f"{s} = {c}" for s, c, _ in TABLE])
def test_sympy_evaluation_counts_only_with_numeric_agreement(start, claim, true):
    text = HEADER + f"[[chain]]\nstart = '{start}'\n[[chain.step]]\nexpr = '{claim}'\n"
    (step,) = read_derivation("t.toml", text.encode()).steps
    verdict = check_step(step, Options())
    if true:
        assert verdict.status is Status.PROVED, verdict
    else:
        assert verdict.status is Status.REFUTED, verdict


def test_without_numeric_checking_sympys_word_is_not_proof():
    # a closed form only SymPy's integrate gives (half-line exponential integrals are closed by the 'exponential
    # moments' rule, sums of powers by 'closed forms of finite sums', with no evaluation rung)
    text = HEADER + "[[chain]]\nstart = 'Integral(1/(1 + x**2), (x, 0, 1))'\n[[chain.step]]\nexpr = 'pi/4'\n"
    (step,) = read_derivation("t.toml", text.encode()).steps
    verdict = check_step(step, Options(numeric=False))
    assert verdict.status is Status.UNKNOWN and "could not confirm" in verdict.detail
