"""Plain-text printing of klproof expressions in the file's own syntax: P(z|X), E(f, Q(z|X)), KL(q, p).

Used for diagnoses, residuals and `explain`, so that messages read like the
derivation file rather than like SymPy's internal classes.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.str import StrPrinter


class KlproofStrPrinter(StrPrinter):
    def _print_Dummy(self, e):  # a bound variable reads as its author wrote it
        return e.name

    def _print_Prob(self, e):
        targets = ", ".join(self._print(t) for t in e.targets)
        if e.givens:
            return f"{e.family}({targets}|{', '.join(self._print(g) for g in e.givens)})"
        return f"{e.family}({targets})"

    def _print_Normal(self, e):
        return "N(" + ", ".join(self._print(a) for a in e.args) + ")"

    def _print_NormalDiag(self, e):
        z, mu, sigma, j, a, b = e.args
        return f"NormalDiag({self._print(z)}, {self._print(mu)}, {self._print(sigma)}, ({j}, {self._print(a)}, {self._print(b)}))"

    def _print_Expectation(self, e):
        return f"E({self._print(e.args[0])}, {self._print(e.args[1])})"

    def _print_KL(self, e):
        return f"KL({self._print(e.args[0])}, {self._print(e.args[1])})"

    def _print_LatentSum(self, e):
        return f"Sum({self._print(e.args[0])}, {self._print(e.args[1])})"

    def _print_Defined(self, e):
        return f"{e.name}(" + ", ".join(self._print(a) for a in e.args[2]) + ")"

    def _print_Diag(self, e):
        f, j, a, b = e.args
        return f"diag({self._print(f)}, ({j}, {self._print(a)}, {self._print(b)}))"

    def _print_Trace(self, e):
        return f"tr({self._print(e.args[0])})"

    def _print_Det(self, e):
        return f"det({self._print(e.args[0])})"

    def _print_Dot(self, e):
        u, v, j, a, b = e.args
        return f"dot({self._print(u)}, {self._print(v)}, ({j}, {self._print(a)}, {self._print(b)}))"

    def _print_Integral(self, e):
        # SymPy merges nested integrals into one with several limits (the first the innermost): printed as the
        # nesting the reader reads back
        text = self._print(e.function)
        for limit in e.limits:
            if len(limit) != 3:
                return super()._print_Integral(e)
            x, lo, hi = limit
            if lo == -sp.oo and hi == sp.oo:
                text = f"Integral({text}, {self._print(x)})"
            else:
                text = f"Integral({text}, ({x}, {self._print(lo)}, {self._print(hi)}))"
        return text


    # matrices, in the file's syntax: transpose(u)*inv(Sigma)*v
    def _print_Scalar(self, e):
        return self._print(e.args[0])

    def _print_Transpose(self, e):
        return f"transpose({self._print(e.arg)})"

    def _print_Inverse(self, e):
        return f"inv({self._print(e.arg)})"

    def _print_Identity(self, e):
        return f"eye({self._print(e.shape[0])})"

    def _print_MvNormal(self, e):
        return "MvNormal(" + ", ".join(self._print(a) for a in e.args) + ")"


_PRINTER = KlproofStrPrinter()


def show(expr) -> str:
    return _PRINTER.doprint(expr)
