"""Every export compiles and renders: pdflatex with no overfull box, KaTeX with no error.

Covers every file of proofs/ and examples/ and a generated derivation whose names are the hard cases
(subscripted families, digit suffixes, Greek, long names, primes), with long justifications, a long
sum, titles with formulas and a step accepted on numeric evidence. pdflatex comes from Debian's
texlive-latex-base and texlive-latex-recommended, KaTeX from npm (`.ci/run` installs both); without
them the tests are skipped, saying so.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import pytest

from conftest import ROOT, run_cli
from klproof.api import check_sources, parse_sources
from klproof.export import latex as render_latex
from klproof.export import markdown as render_markdown

FILES = sorted((ROOT / "proofs").glob("*.toml")) + sorted((ROOT / "examples").glob("*.toml"))
KATEX = ROOT / ".katex" / "node_modules" / "katex"
NAMES = ["a1", "a12", "x0", "z2", "sigma2", "mu_1", "beta_1", "h_t", "eps", "alpha", "theta", "Omega", "x_prime",
         "mu_prime", "learning_rate", "kl_weight", "averyveryverylongname"]
FAMILIES = ["mu_q", "sigma_q", "w2", "theta_prime", "v"]
LONG_BY = ("linearity of expectation, log of a quotient, definition of the normal density, "
           "density integrates to 1, change of variables, conditional probability, trace and determinant")


def generated_names() -> str:
    """A derivation that passes `klproof check`, written with every kind of name an author may use."""
    lines = ['title = "Names: a1, x0, sigma2, mu_q[j], D_KL(q || p) and eps ~ N(0, 1)"', "", "[symbols]"]
    lines += [f'{name} = "{"positive" if name.startswith(("sigma", "a")) else "real"}"' for name in NAMES]
    lines += ['t = "positive"', 'j = "integer"', 'J = "positive integer"', "", "[families]"]
    lines += [f'{name} = "real"' for name in FAMILIES]
    chains = [("digit suffixes: sqrt(a1*a12) with x0", "sqrt(a1*a12)*x0 + a1*x0**2", "x0**2*a1 + x0*sqrt(a12*a1)"),
              ("families mu_q[j], sigma_q[j] and w2[j]",
               "Sum(mu_q[j]**2 + sigma_q[j] + w2[j]*v[j] - theta_prime[j], (j, 1, J))",
               "Sum(w2[j]*v[j] - theta_prime[j] + sigma_q[j] + mu_q[j]**2, (j, 1, J))"),
              ("Greek, primes and long names", "alpha*x_prime + theta*mu_prime + learning_rate*kl_weight*Omega",
               "Omega*kl_weight*learning_rate + mu_prime*theta + x_prime*alpha"),
              ("a long sum", " + ".join(f"{n}**2" for n in NAMES if n != "eps"),
               " + ".join(f"{n}**2" for n in reversed(NAMES) if n != "eps")),
              ("with eps and beta_1", "exp(eps)*beta_1 + h_t*averyveryverylongname + sigma2*z2",
               "z2*sigma2 + averyveryverylongname*h_t + beta_1*exp(eps)")]
    for title, start, step in chains:
        lines += ["", "[[chain]]", f'title = "{title}"', f"start = '{start}'", "", "[[chain.step]]",
                  f"expr = '{step}'", f'by = "{LONG_BY}"']
    lines += ["", "[[chain]]", 'title = "accepted on numeric evidence"', "start = 'sqrt(t**2 + 2*t + 1)'", "",
              "[[chain.step]]", "expr = 't + 1'", 'by = "algebra"', "numeric = true"]
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=None)
def exports() -> dict[str, tuple[str, ...]]:
    """name -> (standalone with tags and marks, standalone plain, fragment, markdown) for every file."""
    sources = [(f"{p.parent.name}/{p.name}", p.read_bytes()) for p in FILES]
    sources.append(("generated/names.toml", generated_names().encode()))
    report = check_sources(sources, jobs=2)
    out = {}
    for derivation in parse_sources(sources):
        out[derivation.path] = (render_latex(derivation, report, standalone=True, tags=True, marks=True),
                                render_latex(derivation, report, standalone=True),
                                render_latex(derivation, report),
                                render_markdown(derivation, report))
    return out


def test_the_generated_names_pass_and_are_printed_as_a_paper_would(tmp_path):
    path = tmp_path / "names.toml"
    path.write_text(generated_names())
    result = run_cli("check", "--no-cache", str(path))
    assert result.returncode == 0, result.stdout[-3000:]
    tex = exports()["generated/names.toml"][2]
    for shown in ("a_{1}", "a_{12}", "x_{0}", "\\sigma_{2}", "\\mu_{q j}", "w_{2 j}", "\\theta_{prime j}",
                  "\\beta_{1}", "\\epsilon", "\\Omega"):
        assert shown in tex, shown
    assert "\\texttt" not in tex  # every formula printed as math, none fell back to source code
    assert "\\mathrm{a1}" not in tex and "_{q}_" not in tex
    assert "\\overset{\\text{num.}}{=}" in tex  # points and digits are the evidence's own (24 and 30+ here)
    assert re.search(r"\[numeric evidence: \d+ points, (3\d|4\d) digits, accepted\]", tex)


def _pdflatex(workdir: Path, name: str, text: str) -> tuple[str, str]:
    (workdir / f"{name}.tex").write_text(text, encoding="ascii")
    result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"], cwd=workdir,
                            capture_output=True, text=True, timeout=180)
    log = (workdir / f"{name}.log").read_text(encoding="latin-1") if (workdir / f"{name}.log").exists() else ""
    problems = []
    if result.returncode != 0:
        problems.append(f"pdflatex failed: {result.stdout[-1500:]}")
    problems += [m.group(0) for m in re.finditer(r"Overfull \\hbox \([^)]*\) [^\n]*\n[^\n]*", log)]
    return name, "\n".join(problems)


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed (apt-get install "
                    "texlive-latex-base texlive-latex-recommended; .ci/run does)")
def test_every_latex_export_compiles_without_an_overfull_box(tmp_path):
    docs = {}
    fragments = []
    for k, (path, (tagged, plain, fragment, _)) in enumerate(sorted(exports().items())):
        docs[f"tagged{k}"] = tagged
        docs[f"plain{k}"] = plain
        fragments.append(fragment)
    preamble = tagged.split("\\begin{document}")[0]  # the fragments go into a document of the same page size
    docs["fragments"] = preamble + "\\begin{document}\n" + "\n".join(fragments) + "\n\\end{document}\n"
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda item: _pdflatex(tmp_path, *item), docs.items()))
    failures = {name: problems for name, problems in results if problems}
    assert not failures, json.dumps(failures, indent=1)[:6000]
    assert all((tmp_path / f"{name}.pdf").stat().st_size > 5_000 for name in docs)


def markdown_math(markdown: str) -> list[dict]:
    """Every formula of a Markdown export: the $$ blocks (display) and the $...$ in text lines (inline)."""
    formulas, block = [], None
    for line in markdown.splitlines():
        if line.strip() == "$$":
            if block is None:
                block = []
            else:
                formulas.append({"tex": "\n".join(block), "display": True})
                block = None
        elif block is not None:
            block.append(line)
        else:
            formulas += [{"tex": m.group(1), "display": False}
                         for m in re.finditer(r"(?<![\\$])\$(?!\$)(.+?)(?<!\\)\$", line)]
    assert block is None, "an unclosed $$ block"
    return formulas


@pytest.mark.skipif(not KATEX.exists() or shutil.which("node") is None,
                    reason="KaTeX is not installed (npm install --prefix .katex katex; .ci/run does)")
def test_every_markdown_formula_renders_with_katex():
    formulas = [f for (*_, markdown) in exports().values() for f in markdown_math(markdown)]
    assert len(formulas) > 60 and any(not f["display"] for f in formulas)
    result = subprocess.run(["node", str(ROOT / "tests" / "katex" / "render.js")], input=json.dumps(formulas),
                            capture_output=True, text=True, timeout=120, env={"KLPROOF_KATEX": str(KATEX),
                                                                               "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-2000:]
    errors = json.loads(result.stdout)
    assert errors == [], json.dumps(errors, indent=1)[:4000]


def test_katex_check_catches_a_broken_formula():
    """The KaTeX test can fail: a formula KaTeX cannot render is reported."""
    if not KATEX.exists() or shutil.which("node") is None:
        pytest.skip("KaTeX is not installed")
    formulas = [{"tex": "\\mu_{q}_{j}", "display": False}, {"tex": "\\frac{1}{2}", "display": True}]
    result = subprocess.run(["node", str(ROOT / "tests" / "katex" / "render.js")], input=json.dumps(formulas),
                            capture_output=True, text=True, timeout=60, env={"KLPROOF_KATEX": str(KATEX),
                                                                              "PATH": "/usr/bin:/bin"})
    errors = json.loads(result.stdout)
    assert [e["tex"] for e in errors] == ["\\mu_{q}_{j}"]


def _export_of(symbols: dict[str, str], families: dict[str, str], start: str, step: str) -> str:
    lines = ['title = "clash"', "[symbols]", *[f'{k} = "{v}"' for k, v in symbols.items()], "[families]",
             *[f'{k} = "{v}"' for k, v in families.items()], "[[chain]]", f"start = '{start}'", "[[chain.step]]",
             f"expr = '{step}'", 'by = "algebra"']
    sources = [("clash.toml", ("\n".join(lines) + "\n").encode())]
    (derivation,) = parse_sources(sources)
    return render_latex(derivation, check_sources(sources, jobs=1))


@pytest.mark.parametrize("symbols, families, start, step, absent", [
    # a1 and a_1 both declared: a1 must not print as a_{1}, which is a_1's picture
    ({"a1": "real", "a_1": "real", "b": "real"}, {}, "a1 + b", "b + a1", "a_{1}"),
    # eps1 and epsilon1 print alike (\epsilon_{1}): neither may be shown that way
    ({"eps1": "real", "epsilon1": "real"}, {}, "eps1 + epsilon1", "epsilon1 + eps1", "\\epsilon_{1}"),
    # mu_q[j] prints \mu_{q j}, the picture of a declared mu_qj: not used for the family member
    ({"mu_qj": "real", "j": "integer", "J": "positive integer"}, {"mu_q": "real"},
     "Sum(mu_q[j], (j, 1, J)) + mu_qj", "mu_qj + Sum(mu_q[j], (j, 1, J))", "\\mu_{q j}"),
])
def test_names_that_would_print_alike_are_never_shown_alike(symbols, families, start, step, absent):
    tex = _export_of(symbols, families, start, step)
    body = "\n".join(line for line in tex.splitlines() if not line.startswith("%"))
    assert absent not in body, body


def test_a_name_without_a_clash_still_prints_as_a_subscript():
    tex = _export_of({"a1": "real", "b": "real"}, {}, "a1 + b", "b + a1")
    assert "a_{1} + b" in tex and "\\texttt" not in tex


def test_a_wide_left_side_with_a_long_justification_still_fits(tmp_path):
    """An equation whose left side takes most of the line, with a long `by`: the note must not overflow."""
    rest = "(a12 + x0 + z2)"
    lhs = f"(a1 + a12 + x0 + z2)**2 - {rest}**2 - 2*a1*{rest}"
    text = generated_names().split("\n\n[[chain]]")[0] + (
        f"\n\n[[chain]]\ntitle = \"wide\"\nstart = '{lhs} == a1**2'\n\n[[chain.step]]\n"
        f"expr = '{lhs} + 1 == a1**2 + 1'\nby = \"{LONG_BY}\"\n")
    sources = [("wide.toml", text.encode())]
    (derivation,) = parse_sources(sources)
    report = check_sources(sources, jobs=1)
    assert report.passed, report
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")
    name, problems = _pdflatex(tmp_path, "wide", render_latex(derivation, report, standalone=True, tags=True))
    assert problems == ""


@pytest.mark.parametrize("tex, pieces", [
    ("a + b + c", ["a", "+ b", "+ c"]),
    ("\\left(a + b\\right) + c", ["\\left(a + b\\right)", "+ c"]),  # never inside brackets
    ("\\frac{a + b}{c} - d", ["\\frac{a + b}{c}", "- d"]),  # never inside a group
    ("\\left\\langle u + v \\right\\rangle + w", ["\\left\\langle u + v \\right\\rangle", "+ w"]),
    ("{a \\over b} + c", ["{a \\over b} + c"]),  # an author's \over: never broken
    ("-a + b", ["-a", "+ b"]),  # a leading sign is not a break
])
def test_long_formulas_break_only_at_top_level_plus_and_minus(tex, pieces):
    from klproof.report.layout import break_formula

    assert break_formula(tex, 0.0) == pieces
