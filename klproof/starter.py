"""The starter derivation that `klproof new` writes: every section of the format, commented, and it passes."""

from __future__ import annotations

STARTER = '''# {title}
# A klproof derivation: declare symbols with their assumptions, then write chains
# of expressions in which every step is claimed equal to the previous one.
# Check it with:   klproof check {path}
# Explain a step:  klproof explain {path}:LINE

title = "{title}"
source = ""                 # where the derivation comes from (free text)

[symbols]                   # name = "assumptions": real, positive, negative, nonnegative,
x = "real"                  #   nonpositive, nonzero, integer, complex; combine them: "positive integer"
mu = "real"
sigma = "positive"
z = "real"
X = "real"
j = "integer"
J = "positive integer"

[families]                  # indexed symbols, written m[j]
m = "real"

[distributions]             # abstract probability families and their variables
Q = ["z", "X"]              #   Q(z|X), Q(z), Q(z, X) are then all meaningful
P = ["z", "X"]

[definitions]               # your own functions; parameters are declared symbols
"g(x)" = "(x - mu)**2"

[[chain]]
title = "algebra and a definition"
start = "g(x + mu)"

[[chain.step]]
expr = "x**2"
by = "definition"           # the rewrite that justifies the step; `klproof check` proves it

[[chain]]
title = "the mean of a normal density"
start = "E(x, N(x, mu, sigma))"

[[chain.step]]
expr = "Integral(N(x, mu, sigma) * x, x)"
by = "definition of E"

[[chain.step]]
expr = "mu"
by = "Gaussian moments"
note = "the first moment of N(mu, sigma^2)"

[[chain]]
title = "Bayes' rule inside a log"
start = "log(Q(z|X)) - log(P(z|X))"

[[chain.step]]
expr = "log(Q(z|X)) - log(P(X|z)) - log(P(z)) + log(P(X))"
by = "Bayes' rule, log rules"

[[chain]]
title = "a sum over dimensions"
start = "Sum(m[j] + 1, (j, 1, J))"

[[chain.step]]
expr = "Sum(m[j], (j, 1, J)) + J"
by = "linearity of sums"
'''


def starter_text(title: str, path: str) -> str:
    """The starter file's text; `title` becomes its title (quotes and backslashes are dropped)."""
    safe = " ".join(title.replace("\\", " ").replace('"', "'").split())
    return STARTER.format(title=safe, path=path)
