"""The export pipeline: check a derivation, then render it as LaTeX or Markdown.

It joins what the reporters may not: the readers (every rendered formula is read back in the
derivation's scope and must give the expression that was checked) and the checker. The CLI
only prints what this returns and chooses the exit code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from klproof import vocabulary as C
from klproof.errors import KlproofError, Span
from klproof.model import Derivation
from klproof.parse.expr import Scope
from klproof.report.latex import ReadBack, render_latex, unverified_steps
from klproof.report.texnames import reader_spelling
from klproof.verdict import Report


@dataclass
class ExportScope(Scope):
    """The derivation's scope, which also finds a name under the spelling the LaTeX reader gives its printed
    form (a1, printed a_{1}, is read as a_1; mu_q[j], printed \\mu_{q j}, as mu_qj), so that exports can
    print names as papers do and still be read back exactly. A spelling that is a declared name, or that two
    names share, finds nothing: the read-back then fails and the export falls back, never shows a wrong name."""

    spellings: dict[str, str | None] = field(default_factory=dict)  # spelling -> the symbol's name (None: shared)
    family_spellings: dict[str, str | None] = field(default_factory=dict)  # spelling of the head -> family

    def symbol(self, name: str) -> sp.Symbol | None:
        found = super().symbol(name)
        if found is not None:
            return found
        spelled = self.spellings.get(name)
        if spelled:
            return super().symbol(spelled)
        members = []
        for prefix, family in self.family_spellings.items():
            if not family or not name.startswith(prefix):
                continue
            index = super().symbol(name[len(prefix):])
            if index is not None and index.is_integer:
                members.append(self.families[family][index])
        return members[0] if len(members) == 1 else None


def _spellings(names, keep_same: bool = False) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in names:
        spelled = reader_spelling(name)
        if spelled is not None and (keep_same or spelled != name):
            out[spelled] = None if spelled in out else name  # two names printed alike: neither is found
    return out


def derivation_scope(derivation: Derivation) -> Scope:
    """The names the derivation declared, as the parsers want them (see ExportScope for the spellings)."""
    symbols = {n: s for n, s in derivation.symbols.items() if isinstance(s, sp.Symbol)}
    families = {n: s for n, s in derivation.symbols.items() if isinstance(s, sp.IndexedBase)}
    definitions = {n: C.DefinitionBody(params, body) for n, (params, body, _) in derivation.definitions.items()}
    matrices = {n: s for n, s in derivation.symbols.items() if C.is_matrix(s)}
    return ExportScope(symbols=symbols, families=families, distributions=dict(derivation.distributions),
                       definitions=definitions, matrices=matrices, spellings=_spellings({**symbols, **matrices}),
                       family_spellings=_spellings(families, keep_same=True))




def read_back(derivation: Derivation) -> ReadBack:
    """The readers in the derivation's scope, for an export to check what it prints."""
    from klproof.parse.expr import parse_expression
    from klproof.parse.latex import clean_latex, parse_latex

    scope = derivation_scope(derivation)
    span = Span(derivation.path, 1)

    def read(text: str, latex: bool):
        try:
            return (parse_latex if latex else parse_expression)(text, scope, span)
        except KlproofError:
            return None

    return ReadBack(read, clean_latex)


def latex(derivation: Derivation, report: Report, standalone: bool = False, tags: bool = False,
          marks: bool = False) -> str:
    """The derivation as LaTeX (see klproof.report.latex.render_latex)."""
    return render_latex(derivation, report, read_back(derivation), standalone=standalone, tags=tags, marks=marks)


def markdown(derivation: Derivation, report: Report) -> str:
    """The derivation as Markdown with $$ math (see klproof.report.markdown.render_markdown)."""
    from klproof.report.markdown import render_markdown

    return render_markdown(derivation, report, read_back(derivation))


@dataclass(frozen=True)
class Exported:
    text: str
    unverified: tuple[str, ...]  # 'path:line: step N is STATUS' for each step that does not hold
    rendered: bool  # False when steps do not hold and the caller did not allow them: `text` is empty


def export_file(path: str, data: bytes, to_markdown: bool, *, allow_unverified: bool, timeout: float, jobs: int,
                standalone: bool = False, tags: bool = False, marks: bool = False) -> Exported:
    """Check the file, then render it; a KlproofError when the file or one of its steps cannot be read."""
    from klproof.api import check_sources, parse_sources
    from klproof.check.decide import Options

    (parsed,) = parse_sources([(path, data)])
    if isinstance(parsed, KlproofError):
        raise parsed.at(Span(path, 1))
    unreadable = [s.error for s in parsed.steps if s.error is not None]
    if unreadable:  # an export shows every line as checked: one that cannot be read has nothing to show
        raise KlproofError("\n".join(KlproofError(e.message, e.span, e.hint or None).render() for e in unreadable))
    report = check_sources([(path, data)], Options(timeout=timeout), jobs=jobs)
    failing = tuple(unverified_steps(parsed, report))
    if failing and not allow_unverified:
        return Exported("", failing, False)
    text = (markdown(parsed, report) if to_markdown
            else latex(parsed, report, standalone=standalone, tags=tags, marks=marks))
    return Exported(text, failing, True)
