"""Names and plain text for LaTeX exports: how a declared name prints (and how the LaTeX reader finds it
again), and file text made safe for pdflatex and LaTeX comments. Pure functions, no SymPy."""

from __future__ import annotations

import re
import unicodedata

GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda",
    "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega",
    "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega",
    "varepsilon", "vartheta", "varphi", "varrho", "varsigma", "varpi",
}
NAME_ALIASES = {"eps": "epsilon", "lam": "lambda"}


def _parts(name: str) -> tuple[str, str]:
    """(base, subscript) as a paper prints the name: mu_1 -> (mu, 1), a1 -> (a, 1), sigma_q -> (sigma, q);
    a name made of a word and digits (x0, sigma2, w12) carries its digits as a subscript."""
    base, _, sub = name.partition("_")
    if not sub:
        digits = re.fullmatch(r"([A-Za-z]+?)(\d+)", name)
        if digits:
            base, sub = digits.groups()
    return base, sub


def _head(base: str) -> str:
    base = NAME_ALIASES.get(base, base)
    if base in GREEK:
        return "\\" + base
    return base if len(base) == 1 else "\\mathrm{" + base + "}"


def _sub_latex(sub: str) -> str:
    words = [NAME_ALIASES.get(p, p) for p in sub.split("_")]
    return " ".join("\\" + w if w in GREEK else w for w in words)


def name_latex(name: str) -> str:
    """mu_1 -> \\mu_{1}, eps -> \\epsilon, a1 -> a_{1}, xyz -> \\mathrm{xyz}, x_ab -> x_{ab}."""
    base, sub = _parts(name)
    return _head(base) + (f"_{{{_sub_latex(sub)}}}" if sub else "")


def indexed_latex(name: str, index: str) -> str:
    """A family member: mu[j] -> \\mu_{j}; a family whose name has a subscript joins it with the index
    (mu_q[j] -> \\mu_{q j}), never a double subscript."""
    base, sub = _parts(name)
    return _head(base) + "_{" + (f"{_sub_latex(sub)} " if sub else "") + index + "}"


def reader_spelling(name: str) -> str | None:
    """How klproof's LaTeX reader spells name_latex(name) when that has a subscript: a1 prints a_{1}, spelled
    a_1; eps_1 prints \\epsilon_{1}, spelled epsilon_1; mu_q prints \\mu_{q}, spelled mu_q. None without one.
    A member of a family with a subscript, mu_q[j] printed \\mu_{q j}, is spelled this plus the index: mu_qj."""
    base, sub = _parts(name)
    if not sub:
        return None
    return f"{NAME_ALIASES.get(base, base)}_" + "".join(NAME_ALIASES.get(p, p) for p in sub.split("_"))


_TEXT_SPECIAL = {"\\": "$\\backslash$", "{": "\\{", "}": "\\}", "$": "\\$", "&": "\\&", "#": "\\#",
                 "%": "\\%", "_": "\\_", "^": "\\^{}", "~": "$\\sim$", "<": "$<$", ">": "$>$", "|": "$|$"}
_TEXT_UNICODE = {"ε": "$\\epsilon$", "μ": "$\\mu$", "σ": "$\\sigma$", "→": "$\\to$", "−": "-", "–": "--", "—": "---",
                 "‖": "$\\|$", "∣": "$\\mid$", "’": "'", "‘": "`", "“": "``", "”": "''", "…": "\\dots{}",
                 "𝒩": "$\\mathcal{N}$", "𝔼": "$\\mathbb{E}$", "²": "$^2$", "·": "$\\cdot$"}
OMITTED = "[...]"


def escape_text(text: str) -> str:
    """Plain text for pdflatex, ASCII only: specials escaped, accents and a few symbols kept, and every
    run of other characters (Hangul, CJK, emoji ...) replaced by [...] since pdflatex cannot typeset it."""
    out: list[str] = []
    dropped = False
    for ch in text:
        if ch in _TEXT_SPECIAL:
            out.append(_TEXT_SPECIAL[ch])
        elif ch.isascii() and ch.isprintable():
            out.append(ch)
        elif ch.isascii():  # a control character: shown as its code, never passed to TeX
            out.append(f"$\\backslash$u{ord(ch):04x}")
        elif ch in _TEXT_UNICODE:
            out.append(_TEXT_UNICODE[ch])
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if c.isascii() and not unicodedata.combining(c))
            if base:
                out.append(base)
            elif not dropped or out[-1] != OMITTED:
                out.append(OMITTED)
                dropped = True
                continue
        dropped = bool(out) and out[-1] == OMITTED
    return re.sub(r"(\[\.\.\.\]\s*)+", OMITTED + " ", "".join(out)).replace(OMITTED + " )", OMITTED + ")").strip()


def comment_text(text: str) -> str:
    """Text for a LaTeX comment: one line, ASCII (other characters as \\u escapes with four hex digits)."""
    flat = " ".join(text.split())
    return "".join(ch if ch.isascii() and ch.isprintable() else f"\\u{ord(ch):04x}" for ch in flat)


# -- math inside titles ------------------------------------------------------------------

_TITLE_TOKEN = re.compile(r"D_KL|[A-Za-z]+\d*(?:_[A-Za-z0-9]+)*(?:\^[0-9]+)?|\d+(?:\.\d+)?(?:\^[0-9]+)?|\|\||\s+|.")
_FUNCTIONS = {"log": "\\log", "exp": "\\exp", "sqrt": "\\operatorname{sqrt}", "diag": "\\operatorname{diag}",
              "tr": "\\operatorname{tr}", "det": "\\det", "KL": "\\mathrm{KL}"}
_OPERATORS = {"+": "+", "-": "-", "*": " ", "/": "/", "=": "=", "~": "\\sim", "|": "\\mid", "||": "\\,\\|\\,",
              ",": ",", "(": "(", ")": ")", "[": "[", "]": "]"}


def _kind(token: str, following: str) -> str:
    """'math' (certainly a formula: D_KL, a Greek, subscripted or digit-suffixed name, a power, N(...)),
    'neutral' (a letter, a number, a function, an operator: math only beside a formula), 'space' or 'word'."""
    if token.isspace():
        return "space"
    if token in _OPERATORS:
        return "neutral"
    if not token.isascii() or not token[0].isalnum():  # 적분, é: words, never math
        return "word"
    name = token.split("^")[0]
    base, sub = _parts(name)
    if name == "D_KL" or "^" in token or (sub and (len(base) == 1 or NAME_ALIASES.get(base, base) in GREEK)):
        return "math"
    if NAME_ALIASES.get(name, name) in GREEK or "_" in name or (token == "N" and following == "("):
        return "math"
    if len(name) == 1 or name[0].isdigit() or name in _FUNCTIONS:
        return "neutral"
    return "word"


def _token_latex(token: str) -> str:
    if token in _OPERATORS:
        return _OPERATORS[token]
    if token.isspace():
        return " "
    if token == "D_KL":
        return "D_{\\mathrm{KL}}"
    name, _, power = token.partition("^")
    if name == "N":
        text = "\\mathcal{N}"
    elif name in _FUNCTIONS:
        text = _FUNCTIONS[name] + " "
    elif name[0].isdigit():
        text = name
    else:
        text = name_latex(name)
    return text + (f"^{{{power}}}" if power else "")


def _math_span(tokens: list[str], kinds: list[str], lo: int, hi: int) -> tuple[int, int] | None:
    """The run tokens[lo:hi] trimmed of spaces, commas, dangling operators and unmatched brackets at its
    ends; None if that leaves nothing properly nested with a formula in it."""
    while lo < hi:
        while lo < hi and (kinds[lo] == "space" or tokens[lo] in (",", ")", "]", "*", "/", "=", "+", "|", "||")):
            lo += 1
        while hi > lo and (kinds[hi - 1] == "space" or tokens[hi - 1] in (",", "(", "[", "-", "+", "*", "/", "=")):
            hi -= 1
        if _nested(tokens[lo:hi]):
            return (lo, hi) if any(k == "math" for k in kinds[lo:hi]) else None
        if tokens[lo] in ("(", "["):  # an opening bracket too many at the start
            lo += 1
        elif tokens[hi - 1] in (")", "]"):  # a closing one too many at the end
            hi -= 1
        else:
            return None
    return None


def _nested(tokens: list[str]) -> bool:
    """Whether the brackets among `tokens` open and close in order, each with its own kind."""
    stack: list[str] = []
    for token in tokens:
        if token in ("(", "["):
            stack.append(")" if token == "(" else "]")
        elif token in (")", "]"):
            if not stack or stack.pop() != token:
                return False
    return not stack


def title_pieces(text: str) -> list[tuple[bool, str]]:
    """A title as (is_math, piece) runs: ASCII formulas in it ("D_KL(q || p)", "z = mu + sigma*eps",
    "N(0, I)") as LaTeX math, the rest as the author's text. A formula is a run of names, numbers and
    operators between words that holds at least one certain formula token. Titles are free text and
    never checked; this only typesets them the way a paper would."""
    tokens = _TITLE_TOKEN.findall(text)
    kinds = [_kind(t, tokens[k + 1] if k + 1 < len(tokens) else "") for k, t in enumerate(tokens)]
    in_math = [False] * len(tokens)
    start = 0
    for end in range(len(tokens) + 1):
        if end == len(tokens) or kinds[end] == "word":
            span = _math_span(tokens, kinds, start, end) if end > start else None
            if span:
                for m in range(*span):
                    in_math[m] = True
            start = end + 1
    pieces: list[tuple[bool, str]] = []
    for token, math in zip(tokens, in_math, strict=True):
        shown = _token_latex(token) if math else token
        if pieces and pieces[-1][0] == math:
            if math and pieces[-1][1][-1:].isalpha() and shown[:1].isalpha():
                shown = " " + shown  # \\mid x, not \\midx
            pieces[-1] = (math, pieces[-1][1] + shown)
        else:
            pieces.append((math, shown))
    return [(math, " ".join(piece.split()) if math else piece) for math, piece in pieces]


def title_latex(text: str) -> str:
    """A title for pdflatex: its formulas as math, the rest escaped (see escape_text)."""
    out = []
    for math, piece in title_pieces(text):
        if math:
            out.append(f"${piece}$")
        else:
            lead = " " if piece[:1].isspace() else ""
            trail = " " if piece[-1:].isspace() and piece.strip() else ""
            out.append(lead + escape_text(piece) + trail)
    return "".join(out).strip()


_LABEL = re.compile(r"\\label\s*\{[^{}]*\}")
# TeX that reads or writes files, runs the shell or redefines anything: never in an export
_DANGEROUS = re.compile(r"\\(input|include|includeonly|write|openout|openin|read|readline|immediate|special|"
                        r"def|edef|gdef|xdef|let|futurelet|csname|catcode|newcommand|renewcommand|providecommand|"
                        r"usepackage|documentclass|makeatletter|scantokens|expandafter|jobname|end|begin|"
                        r"directlua|ShellEscape|write18|label|stop|dump|endinput|errmessage|batchmode|nonstopmode|"
                        r"scrollmode|errorstopmode|aftergroup|afterassignment|every[a-z]*)(?![A-Za-z])")


def author_tex(text: str) -> str | None:
    """The author's (cleaned) LaTeX made safe to paste into a document: every \\label{...} dropped (an
    export numbers its steps itself, and KaTeX has no labels); None if anything else could act on the TeX
    run (comments, parameter or ^^ characters, file, shell or definition commands, a label left over):
    then klproof prints the formula itself."""
    text = " ".join(_LABEL.sub(" ", text).split())
    if any(c in text for c in "%#$") or "^^" in text or _DANGEROUS.search(text):
        return None
    return text
