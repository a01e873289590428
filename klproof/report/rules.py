"""The rule catalog as text: `klproof rules`, `klproof rules NAME`, and the README's rule table.

Pure functions of klproof.catalog (plain data), so the listing, the README and
the checker cannot drift apart: tests/test_rules.py compares the README with
`markdown_table()`.
"""

from __future__ import annotations

from klproof.catalog import RULES, RuleInfo


def describe(rule: RuleInfo) -> str:
    """One rule in full: its name, the names a `by` may use, what it says, its side conditions."""
    lines = [f"{rule.title}  ({rule.id})", "", f"  {rule.statement}", ""]
    names = [rule.title, *rule.aliases]
    lines.append("  by = " + ", ".join(f'"{n}"' for n in dict.fromkeys(names)))
    if rule.conditions:
        lines += ["", "  side conditions:"]
        lines += [f"    - {c}" for c in rule.conditions]
    if rule.needs:
        lines += ["", "  also applies: " + ", ".join(RULES[n].title for n in rule.needs)]
    return "\n".join(lines) + "\n"


def listing() -> str:
    """Every rule, one block each, for `klproof rules`."""
    blocks = [describe(rule) for rule in RULES.values()]
    footer = ("A step's `by` names one or more of these (separated by commas); the checker applies them first,\n"
              "then every rule, and the report says when the stated ones were not enough.\n"
              "`klproof rules NAME` shows one rule.\n")
    return "\n".join(blocks) + "\n" + footer


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table() -> str:
    """The README's table of rules, generated from the catalog."""
    rows = ["| rule | also accepted | what it says | side conditions |", "|---|---|---|---|"]
    for rule in RULES.values():
        aliases = ", ".join(a for a in rule.aliases if a != rule.title.lower())
        conditions = "; ".join(rule.conditions)
        rows.append(f"| {_cell(rule.title)} | {_cell(aliases)} | {_cell(rule.statement)} | {_cell(conditions)} |")
    return "\n".join(rows) + "\n"
