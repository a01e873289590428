"""The field's vocabulary as SymPy objects, one module per notion.

These objects stay unevaluated on construction; their meaning is given by the
sound rewrites in `klproof.check.rules` and, independently, by the numeric
semantics in `klproof.check.numeric`.
"""

from klproof.vocabulary.bernoulli import Bernoulli
from klproof.vocabulary.densities import Categorical, Exponential, Gamma, Laplace
from klproof.vocabulary.definitions import Defined, DefinitionBody
from klproof.vocabulary.derivatives import DerivativeAt
from klproof.vocabulary.expectation import KL, Expectation, LatentSum
from klproof.vocabulary.linear_algebra import MvNormal, Scalar, is_matrix, is_vector
from klproof.vocabulary.matrices import Det, Diag, Dot, Trace
from klproof.vocabulary.normal import Normal, NormalDiag
from klproof.vocabulary.probability import Prob, density_variable

# every notion, for code that must know when none is left (the benchmark's plain-SymPy translation)
VOCABULARY = (Normal, NormalDiag, Bernoulli, Prob, Expectation, KL, LatentSum, Trace, Det, Diag, Dot, DerivativeAt, Laplace,
              Exponential, Gamma, Categorical, MvNormal, Scalar)
# densities with a finite support: E and KL over them are finite sums (rules and numeric semantics alike)
FINITE_DENSITIES = (Bernoulli,)
# densities over an interval of the line (`interval`): E and KL over them are integrals over it
CONTINUOUS_DENSITIES = (Laplace, Exponential, Gamma)
# the densities the readers know by name (syntax, latex_names, arity, domain of their variable)
NAMED_DENSITIES = (*FINITE_DENSITIES, *CONTINUOUS_DENSITIES)


__all__ = ["CONTINUOUS_DENSITIES", "Categorical", "Gamma", "NAMED_DENSITIES", "Exponential", "Laplace",
           "FINITE_DENSITIES", "KL", "VOCABULARY", "Bernoulli", "Defined", "DefinitionBody", "DerivativeAt", "Det",
           "Diag", "Dot", "Expectation", "LatentSum", "MvNormal", "Normal", "NormalDiag", "Prob", "Scalar", "Trace",
           "density_variable", "is_matrix", "is_vector"]
