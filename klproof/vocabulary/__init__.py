"""The field's vocabulary as SymPy objects, one module per notion.

These objects stay unevaluated on construction; their meaning is given by the
sound rewrites in `klproof.check.rules` and, independently, by the numeric
semantics in `klproof.check.numeric`.
"""

from klproof.vocabulary.bernoulli import Bernoulli
from klproof.vocabulary.definitions import Defined, DefinitionBody
from klproof.vocabulary.derivatives import DerivativeAt
from klproof.vocabulary.expectation import KL, Expectation, LatentSum
from klproof.vocabulary.matrices import Det, Diag, Dot, Trace
from klproof.vocabulary.normal import Normal, NormalDiag
from klproof.vocabulary.probability import Prob, density_variable

# every notion, for code that must know when none is left (the benchmark's plain-SymPy translation)
VOCABULARY = (Normal, NormalDiag, Bernoulli, Prob, Expectation, KL, LatentSum, Trace, Det, Diag, Dot, DerivativeAt)
# densities with a finite support: E and KL over them are finite sums (rules and numeric semantics alike)
FINITE_DENSITIES = (Bernoulli,)


__all__ = ["FINITE_DENSITIES", "KL", "VOCABULARY", "Bernoulli", "Defined", "DefinitionBody", "DerivativeAt", "Det", "Diag", "Dot",
           "Expectation", "LatentSum", "Normal", "NormalDiag", "Prob", "Trace", "density_variable"]
