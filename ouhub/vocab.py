"""The words of DESIGN.md's vocabulary, each defined once: statuses, outcomes, verdicts.

Code, store, site and CLI all use these spellings; a tuple's order is the order
they are shown in (tables, counts, JSON). The stages still to come (contributions,
failure fingerprints) add their words here.
"""

from __future__ import annotations

# Manifest file names, most preferred first: a module keeping both a ``__manifest__.py``
# and a leftover ``__openerp__.py`` is read from the first.
MANIFEST_NAMES: tuple[str, ...] = ("__manifest__.py", "__openerp__.py", "__terp__.py")

# The coverage status of a module in a step (coverage/status.py decides it).
DONE, NOTHING_TO_DO, PARTIAL, TODO = "done", "nothing_to_do", "partial", "todo"
NEW, REMOVED, RENAMED, MERGED, UNKNOWN = "new", "removed", "renamed", "merged", "unknown"
COVERAGE_STATUSES: tuple[str, ...] = (
    DONE, NOTHING_TO_DO, PARTIAL, TODO, NEW, REMOVED, RENAMED, MERGED, UNKNOWN,
)
# The statuses that count as covered in a step's coverage share, and those of the modules
# that need a decision (the share's whole): new, gone and unknown modules need none.
COVERED: tuple[str, ...] = (DONE, NOTHING_TO_DO)
NEEDS_DECISION: tuple[str, ...] = (DONE, NOTHING_TO_DO, PARTIAL, TODO)
# What each status means, for the legends of tables and pages.
STATUS_MEANINGS: dict[str, str] = {
    DONE: "migration scripts for this step (or declared done)",
    NOTHING_TO_DO: "declared, or every change of the analysis answered 'nothing to do' by "
                   "the analysts, or nothing changed",
    PARTIAL: "declared partly migrated",
    TODO: "in both releases, changes left open, no scripts",
    NEW: "not in the previous release: nothing to migrate",
    REMOVED: "gone from this release, without a replacement",
    RENAMED: "an old name: the module lives on under its new name",
    MERGED: "an old name: the module is merged into another",
    UNKNOWN: "nothing tells whether it was in the previous release",
}
SHARE_MEANING = ("share: done and nothing to do among the modules that need a decision "
                 "(done, nothing to do, partial, todo)")
# What a release's scan says of a name that is not part of that release (an old name).
NOT_IN_RELEASE: tuple[str, ...] = (REMOVED, RENAMED, MERGED)

# A run's status, and each module's outcome in it (runner/outcome.py decides them).
# running: started, not finished; interrupted: stopped by SIGTERM/SIGINT, or its ouhub
# process is gone
PASSED, FAILED, TIMEOUT, ERROR = "passed", "failed", "timeout", "error"
RUNNING, INTERRUPTED = "running", "interrupted"
RUN_STATUSES: tuple[str, ...] = (PASSED, FAILED, TIMEOUT, ERROR, INTERRUPTED)
UPGRADED, MODULE_FAILED, NOT_REACHED = "upgraded", "failed", "not_reached"
OUTCOMES: tuple[str, ...] = (UPGRADED, MODULE_FAILED, NOT_REACHED)
# A module's failure class across runs (runner/failures.py decides it), in the order pages
# show them; a first failure is "new", as a module new in a release is.
REGRESSION, ALWAYS_FAILING, FLAKY, FIXED = "regression", "always_failing", "flaky", "fixed"
FAILURE_CLASSES: tuple[str, ...] = (REGRESSION, NEW, FLAKY, ALWAYS_FAILING, FIXED)

# Check's verdict of a module in a step, in order of severity: a module's overall verdict
# is the worst of its steps'.
OK, AT_RISK, NOT_COVERED, BLOCKED = "ok", "at_risk", "not_covered", "blocked"
VERDICTS: tuple[str, ...] = (OK, AT_RISK, NOT_COVERED, BLOCKED)

# Work (contributions/): a pull request or merge proposal writing a module's scripts, its
# state, who acts next on it, and where a tracking issue disagrees with what happened.
OPEN, CLOSED = "open", "closed"
WORK_STATES: tuple[str, ...] = (OPEN, MERGED, CLOSED)
AUTHOR, REVIEWERS = "author", "reviewers"
MERGED_UNTICKED, TICKED_UNMERGED, CLOSED_UNMERGED = (
    "merged_unticked", "ticked_unmerged", "closed_unmerged")
DRIFT_KINDS: tuple[str, ...] = (MERGED_UNTICKED, TICKED_UNMERGED, CLOSED_UNMERGED)
# What ties work to (release, module), strongest first: base (the base branch, a merge
# proposal's target, is the release), scripts (a changed file under the module's scripts for
# the release), docsource (a changed row of the step's modulesXXX-YYY.rst), tracking (the
# tracking issue's line names it), title (a module token of its title), branch (of a merge
# proposal's source branch name).
EVIDENCE_KINDS: tuple[str, ...] = ("base", "scripts", "docsource", "tracking", "title", "branch")
# Evidence that the module's scripts are written there (more than its docsource row).
WRITING_EVIDENCE: frozenset[str] = frozenset({"scripts", "tracking", "title", "branch"})
