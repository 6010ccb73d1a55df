"""`ouhub check`'s three renderings of a report: a plain table, JSON and Markdown."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ouhub.check.command import CheckInput
from ouhub.check.rules import CheckReport, ModuleOutcome, Reason, step_text, unknown_text


def report_json(report: CheckReport, found: CheckInput, detected: bool) -> dict[str, Any]:
    """The documented JSON of `ouhub check --format json`: the report plus its input."""
    data = report.to_dict()
    data["input"] = {
        "kind": found.kind,
        "database": found.database,
        "base_version": found.base_version,
        "source_detected": detected,
        "versions": dict(found.versions),
    }
    return data


def render(report: CheckReport, found: CheckInput, detected: bool, fmt: str) -> str:
    """The report as `ouhub check --format` prints it: table, json or markdown."""
    if fmt == "json":
        # Compact, keys in their documented order: a report of a thousand modules is
        # megabytes, and indenting or sorting makes the encoding several times slower.
        import json  # here: the table and Markdown need none

        data = report_json(report, found, detected)  # a tree: no cycle to check
        return json.dumps(data, check_circular=False, separators=(",", ":")) + "\n"
    if fmt == "markdown":
        return markdown(report)
    # Plain text, not rich: rich needs seconds for a thousand rows and their reasons.
    why = reason_lines(report, width=text_width())
    return (steps_line(report) + "\n\n" + text_table(report)
            + ("\nwhy:\n" + "\n".join(why) + "\n" if why else "")
            + "\n" + summary_line(report) + "\n")


WORDS = {"ok": "ok", "at_risk": "at risk", "blocked": "blocked", "not_covered": "not covered"}


def skipped_line(skipped: Sequence[str | None]) -> str:
    """The warning for rows of ir_module_module left out: each shown short and quoted."""
    def shown(name: str | None) -> str:
        text = repr(name)
        return text if len(text) <= 60 else f"{text[:50]}... ({len(name or '')} characters)"

    count = f"{len(skipped)} row" + ("s" if len(skipped) > 1 else "")
    more = f", ... and {len(skipped) - 10} more" if len(skipped) > 10 else ""
    return (f"warning: skipped {count} of ir_module_module whose name is no module name: "
            + ", ".join(shown(name) for name in skipped[:10]) + more)


def steps_line(report: CheckReport) -> str:
    count = len(report.steps)
    return (f"{report.source} → {report.target} is {count} upgrade step"
            + ("s" if count > 1 else "") + ", one release at a time: "
            + ", ".join(step_text(p, r) for p, r in report.steps))


def summary_line(report: CheckReport) -> str:
    counts = report.counts
    count = len(report.modules)
    return (f"{count} module{'' if count == 1 else 's'}: {counts['ok']} ok, "
            f"{counts['at_risk']} at risk, "
            f"{counts['blocked']} blocked, {counts['not_covered']} not covered "
            f"(exit {report.exit_code})")


def run_note(reasons: Sequence[Reason]) -> str:
    """What the nightly runs showed of a step, in a few words: "upgraded in run #12 on
    sample demo61", "not run yet"; "" when the step was not judged."""
    for reason in reasons:
        if reason.code == "not_run":
            return "not run yet"
        where = reason.text.partition(" (")[0]  # "upgraded in run #12 on sample demo61"
        if reason.code == "run_upgraded":
            return where
        if reason.code == "run_failed":
            return "failed in " + where.partition(" failed in ")[2]
        if reason.code == "run_not_reached":
            return "not reached in " + where
    return ""


def table_rows(report: CheckReport) -> list[list[str]]:
    """One row per module: its name, a cell per step ('-' once the chain stopped), the verdict.

    A step's cell says whether a nightly run showed it: "ok (done) · upgraded in run #12
    on sample demo61", "ok (done) · not run yet"."""
    rows = []
    count = len(report.steps)
    for module in report.modules:
        # A module's steps are the first ones of the chain, in order, until it stopped.
        row = [module.module]
        for step in module.steps:
            cell = WORDS[step.verdict] + (f" ({step.status})" if step.status else "")
            if step.target:
                cell = cell[:-1] + (" into " if step.status == "merged" else " to ") + step.target + ")"
            if step.name != module.module:
                cell += f" as {step.name}"
            note = run_note(step.reasons)
            if note:
                cell += f" · {note}"
            row.append(cell)
        row.extend("-" * (count - len(module.steps)))
        row.append(WORDS[module.verdict])
        rows.append(row)
    return rows


def text_table(report: CheckReport) -> str:
    """The rows as a plain aligned table (rich takes seconds for a thousand rows)."""
    head = ["module", *(step_text(p, r) for p, r in report.steps), "verdict"]
    rows = table_rows(report)
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(head), line(["-" * w for w in widths])]
    out.extend(line(row) for row in rows)
    return "\n".join(out) + "\n"


def why(report: CheckReport, module: ModuleOutcome) -> list[tuple[str, str, tuple[Reason, ...]]]:
    """(steps, verdict, reasons) per step of a module, for people to read. A module unknown
    to OpenUpgrade in every step is said once, not once per step."""
    steps = module.steps
    if len(steps) > 1 and all(s.reasons and s.reasons[0].code == "not_in_openupgrade"
                              and s.name == module.module for s in steps):
        all_steps = f"{report.source} → {report.target}, all {len(steps)} steps"
        reason = Reason("not_in_openupgrade", unknown_text(module.module, "any step from "
                        f"{report.source} to {report.target}", report.target))
        close = [r for r in steps[-1].reasons if r.code == "did_you_mean"]
        return [(all_steps, "not_covered", (reason, *close))]
    return [(step_text(s.previous, s.release), s.verdict, s.reasons) for s in steps]


def reason_lines(report: CheckReport, everything: bool = False,
                 width: int | None = None) -> list[str]:
    """Why, per module not ok (or every module): per step its verdict, then each reason
    with its evidence; reasons wrapped at ``width`` columns (None: not wrapped)."""
    lines: list[str] = []
    for module in report.modules:
        if module.verdict == "ok" and not everything:
            continue
        lines.append(f"{module.module}: {WORDS[module.verdict]}")
        for steps, verdict, reasons in why(report, module):
            lines.append(f"  {steps}: {WORDS[verdict]}")
            for reason in reasons:
                if width and len(reason.text) + 6 > width:
                    import textwrap  # here: piped, nothing wraps

                    lines.extend(textwrap.wrap(reason.text, max(width, 40), initial_indent="    - ",
                                               subsequent_indent="      ", break_on_hyphens=False))
                else:
                    lines.append(f"    - {reason.text}")
                for evidence in reason.evidence:
                    lines.extend(f"        {line}" for line in evidence.splitlines())
    return lines


def text_width() -> int | None:
    """Where reasons wrap: $COLUMNS, else the terminal's width; None (no wrapping) when the
    output goes to a file or a pipe and COLUMNS is not set."""
    import os

    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if os.isatty(1):
        import shutil  # here: it imports bz2 and lzma (~7 M instructions), for a terminal

        return shutil.get_terminal_size().columns
    return None


def markdown(report: CheckReport) -> str:
    """The report as Markdown (to paste into an issue or a migration plan)."""
    def cell(text: str) -> str:
        return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")

    head = ["module", *(step_text(p, r) for p, r in report.steps), "verdict"]
    out = [f"# Check {report.source} → {report.target}", "", steps_line(report) + ".", "",
           summary_line(report) + ".", "",
           "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in table_rows(report)]
    out += ["", "## Why", ""]
    for module in report.modules:
        out.append(f"- **{cell(module.module)}**: {WORDS[module.verdict]}")
        for steps, verdict, reasons in why(report, module):
            out.append(f"  - {steps} ({WORDS[verdict]})")
            for reason in reasons:
                out.append(f"    - {cell(reason.text)}")
                for evidence in reason.evidence:
                    if "\n" in evidence:
                        # A log excerpt keeps its lines: a fenced block inside the list item.
                        runs = re.findall(r"~+", evidence)
                        fence = "~" * max([3, *(len(r) + 1 for r in runs)])
                        out.extend(f"      {line}".rstrip() for line in
                                   [fence, *evidence.splitlines(), fence])
                    else:
                        out.append(f"      - `{cell(evidence).replace('`', chr(39))}`")
    return "\n".join(out) + "\n"
