"""klproof: verify mathematical derivations step by step.

Importing the package is cheap on purpose: SymPy is imported lazily by the
modules that need it, so `klproof --help` stays fast.
"""

__version__ = "0.1.0"
