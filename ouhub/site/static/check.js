/* ouhub check: can my modules be migrated? The same rules as ouhub/check/rules.py, in the browser.
 *
 * Pure part: OuhubCheck.decide(modules, source, target, data) returns exactly what
 * CheckReport.to_dict() returns in Python for the same check data (api/check-data.json);
 * tests/check_vectors.json holds both to that. OuhubCheck.parseModuleList(text) matches
 * parse_module_list.
 *
 * Page part: OuhubCheck.mount(element, data) builds the form (paste or upload a module
 * list, pick the releases) inside the element and shows a verdict per module and step.
 * On load it mounts into #ouhub-check with window.OUHUB_CHECK_DATA (api/check-data.js,
 * because a page opened from file:// cannot fetch() the JSON).
 *
 * Everything from the data is untrusted text: it only ever goes through textContent.
 */
(function () {
  "use strict";

  var REPORT_SCHEMA_VERSION = 1;
  var VERDICTS = ["ok", "at_risk", "not_covered", "blocked"];
  var SEVERITY = { ok: 0, at_risk: 1, not_covered: 2, blocked: 3 };
  var STATUS_VERDICT = {
    done: "ok", nothing_to_do: "ok", "new": "ok", partial: "at_risk", unknown: "at_risk",
    todo: "blocked", removed: "blocked"
  };
  var JUDGED_TARGET = ["done", "nothing_to_do", "partial", "unknown", "todo", "removed"];
  var MODULE_NAME = /^[a-z0-9_]{1,128}$/;  // technical names are lowercase, as modlist.py's
  var LIST_HINT = "a module list holds lowercase technical names (account, sale_stock, ...), " +
    "separated by newlines, commas or spaces; '#' starts a comment";

  function CheckError(message, hint, junkLines) {
    var error = new Error(message);
    error.name = "CheckError";
    error.hint = hint || null;
    error.junkLines = junkLines || [];
    return error;
  }

  function has(object, key) {
    return object !== null && object !== undefined &&
      Object.prototype.hasOwnProperty.call(object, key);
  }

  function get(object, key) {
    return has(object, key) ? object[key] : undefined;
  }

  // Python compares strings by code point; JavaScript's default sort by UTF-16 unit.
  function compareCodePoints(a, b) {
    var x = Array.from(a), y = Array.from(b);
    for (var i = 0; i < Math.min(x.length, y.length); i++) {
      var d = x[i].codePointAt(0) - y[i].codePointAt(0);
      if (d !== 0) { return d; }
    }
    return x.length - y.length;
  }

  function worse(a, b) {
    return SEVERITY[a] >= SEVERITY[b] ? a : b;
  }

  function strings(list) {
    return (list || []).map(function (item) { return String(item); });
  }

  function reason(code, text, evidence) {
    return { code: code, text: text, evidence: evidence || [] };
  }

  function chain(data, source, target) {
    var previousOf = new Map();
    (data.releases || []).forEach(function (r) { previousOf.set(r.name, r.previous || null); });
    var known = Array.from(previousOf.keys()).join(", ") || "none";
    [source, target].forEach(function (name) {
      if (!previousOf.has(name)) {
        throw CheckError("unknown release '" + name + "'", "known releases: " + known);
      }
    });
    var steps = [], current = target;
    while (current !== source) {
      var previous = previousOf.has(current) ? previousOf.get(current) : null;
      if (previous === null || steps.length > previousOf.size) {
        throw CheckError("release " + target + " does not follow " + source,
          "an upgrade goes forward, one release at a time: pick a later --to");
      }
      steps.push([previous, current]);
      current = previous;
    }
    if (!steps.length) {
      throw CheckError("--from and --to are both " + source + ": there is nothing to upgrade",
        "pick a later target release with --to");
    }
    return steps.reverse();
  }

  function statusVerdict(name, release, step, entry, reasons, verdict, renamedFrom) {
    var status = entry.status || "unknown";
    var evidence = strings(entry.evidence);
    var text;
    if (status === "done") {
      text = name + " has migration scripts for " + step;
    } else if (status === "nothing_to_do") {
      if (evidence.some(function (line) { return line.indexOf("declared:") === 0; })) {
        text = name + " is declared to need nothing for " + step;
      } else {
        text = name + " needs nothing for " + step + ": its analysis says so";
      }
    } else if (status === "new") {
      text = name + " is new in " + release + ": nothing to migrate";
    } else if (status === "partial") {
      text = name + " is declared only partly migrated for " + step;
    } else if (status === "todo" && renamedFrom) {
      text = name + ", the new name of " + renamedFrom + ", has no migration scripts and no " +
        "declared status for " + step;
    } else if (status === "todo") {
      text = name + " exists in both releases but has no migration scripts and no declared " +
        "status for " + step;
    } else if (status === "removed") {
      text = name + " is removed in " + release + " without a replacement";
    } else {
      status = "unknown";
      text = "ouhub could not establish the coverage of " + name + " for " + step;
    }
    reasons.push(reason(status, text, evidence));
    return worse(verdict, STATUS_VERDICT[status]);
  }

  function disagreements(name, entry, reasons, verdict) {
    var found = strings(entry.disagreements);
    if (found.length) {
      reasons.push(reason("disagreement", "what is declared for " + name +
        " and what is found in the branch disagree", found));
      verdict = worse(verdict, "at_risk");
    }
    return verdict;
  }

  // Whether a nightly run showed the step to work for `name`: a reason either way.
  function runReason(name, run, step, reasons, verdict) {
    if (!run) {
      reasons.push(reason("not_run", "not run yet: no nightly run of " + step +
        " has included " + name));
      return verdict;
    }
    var where = (run.run_id !== undefined && run.run_id !== null ? "run #" + run.run_id :
      "the last nightly run") + " on sample " + (run.sample || "?") + " (" +
      (run.at || "unknown time") + "; the run " + (run.run_status || "unknown") + ")";
    var evidence = strings(run.evidence);
    if (run.outcome === "failed") {
      reasons.push(reason("run_failed", name + " failed in " + where, evidence));
      verdict = worse(verdict, "at_risk");
    } else if (run.outcome === "upgraded") {
      reasons.push(reason("run_upgraded", "upgraded in " + where, evidence));
    } else if (run.outcome === "not_reached") {
      reasons.push(reason("run_not_reached", where + " stopped before reaching " + name,
        evidence));
    }
    return verdict;
  }

  function stepVerdict(previous, release, name, status, verdict, reasons, target) {
    return { previous: previous, release: release, name: name, status: status,
      verdict: verdict, target: target || null, reasons: reasons };
  }

  function unknownText(name, steps, release) {
    return name + " is unknown to ouhub: it is not in OpenUpgrade's coverage of " + steps +
      ", so it is a custom or community (e.g. OCA) module. Whether it is ported to " + release +
      " and has migration scripts is for you to find out: you migrate it yourself";
  }

  function oneTypo(a, b) {
    if (a.length > b.length) { var t = a; a = b; b = t; }
    var i = 0;
    while (i < a.length && a[i] === b[i]) { i++; }
    if (a.length < b.length) { return a.slice(i) === b.slice(i + 1); }
    return a.slice(i + 1) === b.slice(i + 1) || (i + 1 < a.length && a[i] === b[i + 1] &&
      a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2));
  }

  // The first (by code point) technical name one typo away from `name`, as close_name.
  function closeName(name, known) {
    var found = Object.keys(known).filter(function (k) {
      return k !== name && Math.abs(k.length - name.length) <= 1 && MODULE_NAME.test(k) &&
        oneTypo(name, k);
    }).sort(compareCodePoints);
    return found.length ? found[0] : null;
  }

  function didYouMean(close, step) {
    return reason("did_you_mean", "did you mean " + close + "? " + close +
      " is in OpenUpgrade's coverage of " + step);
  }

  // The open work on a module (check data's `work`, most recently active first): a
  // work_in_progress reason, as ouhub.check.rules.work_reason words it.
  function workReason(works, clock) {
    var first = works[0];
    var kind = first.source === "github" ? "pull request" : "merge proposal";
    var then = Date.parse(first.updated);
    var days = isNaN(then) ? null : Math.max(0, Math.floor((clock.now - then) / 86400000));
    var when = days === null ? "at an unknown time" : days === 0 ? "today" :
      days === 1 ? "1 day ago" : days + " days ago";
    var text = "scripts in open " + kind + " " + first.ref + " by @" + first.author +
      ", updated " + when;
    if (days !== null && clock.staleDays !== null && days > clock.staleDays) {
      text += " (stale: no activity of its author for over " + clock.staleDays + " days)";
    }
    if (works.length > 1) {
      text += "; " + (works.length - 1) + " more open: " +
        works.slice(1).map(function (w) { return String(w.ref); }).join(", ");
    }
    var urls = works.filter(function (w) { return w.url; }).map(function (w) {
      return String(w.url);
    });
    return reason("work_in_progress", text, urls);
  }

  function addWork(entry, reasons, verdict, clock) {
    if (entry.work && entry.work.length && (verdict === "blocked" || verdict === "at_risk")) {
      reasons.push(workReason(entry.work, clock));
    }
  }

  // One step: [verdict of `name`, the name to follow in the next step or null].
  function judge(name, previous, release, coverage, clock) {
    var step = previous + " \u2192 " + release;
    var entry = get(coverage, name);
    if (entry === undefined || entry === null) {
      var found = [];
      if (!Object.keys(coverage).length) {
        found.push(reason("no_coverage", "ouhub holds no coverage for " + step + ", so it " +
          "cannot tell whether " + name + " migrates; the coverage scan has not run for this " +
          "step"));
      } else {
        found.push(reason("not_in_openupgrade", unknownText(name, step, release)));
        var close = closeName(name, coverage);
        if (close !== null) { found.push(didYouMean(close, step)); }
      }
      return [stepVerdict(previous, release, name, null, "not_covered", found), name];
    }
    var status = entry.status || "unknown";
    var reasons = [];
    var verdict;
    if (status === "renamed" || status === "merged") {
      var newName = entry.target;
      if (!newName) {
        reasons.push(reason("missing_target", name + " is " + status + " in " + release +
          ", but the coverage does not say into what; ouhub cannot follow it further",
          strings(entry.evidence)));
        return [stepVerdict(previous, release, name, status, "at_risk", reasons), null];
      }
      var word = status === "renamed" ? "renamed to" : "merged into";
      reasons.push(reason(status, name + " is " + word + " " + newName + " in " + release,
        strings(entry.evidence)));
      verdict = "ok";
      var targetEntry = get(coverage, newName);
      var runOf = name, run = entry.run;
      if (targetEntry === undefined || targetEntry === null) {
        reasons.push(reason("target_not_covered", newName + " is not in OpenUpgrade's " +
          "coverage of " + step + ": ouhub cannot tell whether " + name + " is migrated into " +
          "it; it is a custom or community (e.g. OCA) module, which you migrate yourself"));
        verdict = "not_covered";
      } else {
        if (JUDGED_TARGET.indexOf(targetEntry.status) >= 0) {
          verdict = statusVerdict(newName, release, step, targetEntry, reasons, verdict,
            status === "renamed" ? name : null);
          verdict = disagreements(newName, targetEntry, reasons, verdict);
        }
        if (targetEntry.run) { runOf = newName; run = targetEntry.run; }
      }
      verdict = disagreements(name, entry, reasons, verdict);
      verdict = runReason(runOf, run, step, reasons, verdict);
      addWork(entry, reasons, verdict, clock);
      return [stepVerdict(previous, release, name, status, verdict, reasons, newName), newName];
    }
    verdict = statusVerdict(name, release, step, entry, reasons, "ok");
    var follow = status === "removed" ? null : name;
    verdict = disagreements(name, entry, reasons, verdict);
    verdict = runReason(name, entry.run, step, reasons, verdict);
    addWork(entry, reasons, verdict, clock);
    return [stepVerdict(previous, release, name, status, verdict, reasons), follow];
  }

  // `now` (an ISO time; default: the current time) dates the work in progress.
  function decide(modules, source, target, data, now) {
    var steps = chain(data, source, target);
    var clock = { now: now ? Date.parse(now) : Date.now(),
      staleDays: typeof data.stale_days === "number" ? data.stale_days : null };
    var stepData = data.steps || {};
    var names = Array.from(new Set(modules)).sort(compareCodePoints);
    var verdicts = names.map(function (module) {
      var name = module, entries = [];
      for (var i = 0; i < steps.length && name !== null; i++) {
        var step = get(stepData, steps[i][1]) || {};
        var judged = judge(name, steps[i][0], steps[i][1], step.modules || {}, clock);
        entries.push(judged[0]);
        name = judged[1];
      }
      var worst = entries.reduce(function (acc, e) {
        return SEVERITY[e.verdict] > SEVERITY[acc] ? e.verdict : acc;
      }, entries[0].verdict);
      return { module: module, verdict: worst, steps: entries };
    });
    var counts = { ok: 0, at_risk: 0, not_covered: 0, blocked: 0 };
    verdicts.forEach(function (m) { counts[m.verdict] += 1; });
    var stepCounts = steps.map(function (s) {
      var row = { previous: s[0], release: s[1], ok: 0, at_risk: 0, not_covered: 0, blocked: 0 };
      verdicts.forEach(function (m) {
        m.steps.forEach(function (e) { if (e.release === s[1]) { row[e.verdict] += 1; } });
      });
      return row;
    });
    var exitCode = (counts.blocked || counts.not_covered) ? 2 : (counts.at_risk ? 1 : 0);
    return {
      schema_version: REPORT_SCHEMA_VERSION,
      source: source,
      target: target,
      steps: steps.map(function (s) { return { previous: s[0], release: s[1] }; }),
      modules: verdicts,
      summary: { modules: verdicts.length, ok: counts.ok, at_risk: counts.at_risk,
        not_covered: counts.not_covered, blocked: counts.blocked, steps: stepCounts },
      exit_code: exitCode
    };
  }

  function parseModuleList(text, source) {
    source = source || "the module list";
    var names = [], junk = [], junkLines = [];
    text.split(/\r\n|\r|\n/).forEach(function (line, index) {
      var body = line.split("#")[0];
      var tokens = body.split(/[ \t\f\v,]+/).filter(function (t) { return t; });
      if (tokens.some(function (t) { return !MODULE_NAME.test(t); })) {
        junk.push("line " + (index + 1) + ": " + JSON.stringify(line.trim()));
        junkLines.push(index + 1);
        return;
      }
      Array.prototype.push.apply(names, tokens);
    });
    if (junk.length) {
      var count = junk.length + (junk.length > 1 ? " lines are" : " line is");
      var shown = junk.slice(0, 10);
      if (junk.length > 10) { shown.push("... and " + (junk.length - 10) + " more"); }
      throw CheckError(source + ": " + count + " not module names:\n  " + shown.join("\n  "),
        LIST_HINT, junkLines);
    }
    var unique = Array.from(new Set(names));
    if (!unique.length) {
      throw CheckError(source + ": no module names found", LIST_HINT, []);
    }
    return unique;
  }

  // -- the page ------------------------------------------------------------------------------

  var WORDS = { ok: "ok", at_risk: "at risk", blocked: "blocked", not_covered: "not covered" };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function releaseSelect(id, releases, selected) {
    var select = el("select", { id: id, name: id });
    releases.forEach(function (r) {
      var option = el("option", { value: r.name }, r.name);
      if (r.name === selected) { option.selected = true; }
      select.appendChild(option);
    });
    return select;
  }

  function verdictCell(tag, verdict, extra) {
    var cell = el(tag, { "class": "verdict verdict-" + verdict, "data-verdict": verdict });
    cell.textContent = WORDS[verdict] + (extra ? " " + extra : "");
    return cell;
  }

  // Modules with a page on this site: those of some step's coverage (named plainly, their
  // page is modules/<name>.html, as the site's slug() keeps plain names).
  function pagedModules(data) {
    var paged = new Set();
    var steps = (data && data.steps) || {};
    Object.keys(steps).forEach(function (release) {
      Object.keys((steps[release] || {}).modules || {}).forEach(function (name) {
        if (/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,100}$/.test(name) && name.slice(-1) !== ".") {
          paged.add(name);
        }
      });
    });
    return paged;
  }

  // The worst first (blocked, not covered, at risk, ok), then by name.
  function bySeverity(a, b) {
    return (SEVERITY[b.verdict] - SEVERITY[a.verdict]) || compareCodePoints(a.module, b.module);
  }

  function renderReport(target, report, paged) {
    target.textContent = "";
    paged = paged || new Set();
    var s = report.summary;
    var summary = el("p", { id: "check-summary", role: "status" });
    summary.textContent = s.modules + (s.modules === 1 ? " module" : " modules") + " from " +
      report.source + " to " + report.target +
      ": " + s.ok + " ok, " + s.at_risk + " at risk, " + s.blocked + " blocked, " +
      s.not_covered + " not covered.";
    target.appendChild(summary);
    var steps = el("p", { id: "check-steps" });
    steps.textContent = "The upgrade runs one release at a time: " + report.steps.length +
      (report.steps.length === 1 ? " step (" : " steps (") + report.steps.map(function (st) {
        return st.previous + " \u2192 " + st.release;
      }).join(", ") + ").";
    target.appendChild(steps);

    var table = el("table", { id: "check-table", "class": "check-table" });
    var head = el("thead");
    var row = el("tr");
    row.appendChild(el("th", { scope: "col" }, "module"));
    report.steps.forEach(function (st) {
      row.appendChild(el("th", { scope: "col" }, st.previous + " \u2192 " + st.release));
    });
    row.appendChild(el("th", { scope: "col" }, "verdict"));
    row.appendChild(el("th", { scope: "col" }, "why"));
    head.appendChild(row);
    table.appendChild(head);
    var body = el("tbody");
    report.modules.slice().sort(bySeverity).forEach(function (m) {
      var tr = el("tr", { "data-module": m.module });
      var name = el("th", { scope: "row" });
      if (paged.has(m.module)) {
        name.appendChild(el("a", { href: "modules/" + m.module + ".html" }, m.module));
      } else {
        name.textContent = m.module;
      }
      tr.appendChild(name);
      report.steps.forEach(function (st) {
        var found = m.steps.filter(function (e) { return e.release === st.release; })[0];
        if (!found) {
          tr.appendChild(el("td", { "class": "verdict-none" }, "\u2014"));
        } else {
          var extra = found.name !== m.module ? "(as " + found.name + ")" : "";
          if (found.target) {
            extra += (extra ? " " : "") + "(" + (found.status === "merged" ? "merged into " :
              "renamed to ") + found.target + ")";
          }
          tr.appendChild(verdictCell("td", found.verdict, extra));
        }
      });
      tr.appendChild(verdictCell("td", m.verdict));
      var why = el("td", { "class": "reasons" });
      var list = el("ul");
      m.steps.forEach(function (e) {
        e.reasons.forEach(function (r) {
          var item = el("li", { "data-code": r.code });
          item.appendChild(el("span", { "class": "step" }, e.previous + " \u2192 " + e.release + ": "));
          item.appendChild(document.createTextNode(r.text));
          if (r.evidence.length) {
            var ev = el("ul", { "class": "evidence" });
            r.evidence.forEach(function (line) {
              var li = el("li", {}, line);
              // A traceback excerpt keeps its lines (CSSOM, not an inline style attribute).
              if (line.indexOf("\n") >= 0) { li.style.whiteSpace = "pre-wrap"; }
              ev.appendChild(li);
            });
            item.appendChild(ev);
          }
          list.appendChild(item);
        });
      });
      why.appendChild(list);
      tr.appendChild(why);
      body.appendChild(tr);
    });
    table.appendChild(body);
    target.appendChild(table);
  }

  function renderError(target, error) {
    target.textContent = "";
    var box = el("div", { id: "check-error", role: "alert", "class": "check-error" });
    box.appendChild(el("p", {}, error.message));
    if (error.hint) { box.appendChild(el("p", { "class": "hint" }, error.hint)); }
    target.appendChild(box);
  }

  function mount(root, data) {
    root.textContent = "";
    if (!data || data.schema_version !== 1) {
      root.appendChild(el("p", { role: "alert", id: "check-error" },
        "The check data (api/check-data.js) did not load, so the check cannot run here. " +
        "`ouhub check` gives the same verdicts on the command line."));
      return;
    }
    var releases = data.releases || [];
    var withSteps = releases.filter(function (r) { return r.previous; });
    var firstSource = withSteps.length ? withSteps[0].previous : (releases[0] || {}).name;
    var lastTarget = releases.length ? releases[releases.length - 1].name : undefined;

    var form = el("form", { id: "check-form", "class": "check-form" });
    var listLabel = el("label", { "for": "check-modules" },
      "Installed modules (names separated by newlines, commas or spaces; # starts a comment)");
    var textarea = el("textarea", { id: "check-modules", name: "modules", rows: "8", cols: "60",
      spellcheck: "false" });
    var fileLabel = el("label", { "for": "check-file" }, "or upload a module list");
    var file = el("input", { id: "check-file", type: "file", accept: ".txt,.csv,text/plain" });
    var fromLabel = el("label", { "for": "check-from" }, "from");
    var from = releaseSelect("check-from", releases, firstSource);
    var toLabel = el("label", { "for": "check-to" }, "to");
    var to = releaseSelect("check-to", releases, lastTarget);
    var button = el("button", { type: "submit", id: "check-submit" }, "Check");
    [listLabel, textarea, fileLabel, file].forEach(function (n) {
      var p = el("p");
      p.appendChild(n);
      form.appendChild(p);
    });
    var pick = el("p");
    [fromLabel, from, toLabel, to, button].forEach(function (n) { pick.appendChild(n); });
    form.appendChild(pick);
    var result = el("div", { id: "check-result", "aria-live": "polite" });
    root.appendChild(form);
    root.appendChild(result);

    function run() {
      try {
        var modules = parseModuleList(textarea.value);
        renderReport(result, decide(modules, from.value, to.value, data), pagedModules(data));
      } catch (error) {
        if (error.name !== "CheckError") { throw error; }
        renderError(result, error);
      }
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      run();
    });
    file.addEventListener("change", function () {
      if (!file.files || !file.files.length) { return; }
      var reader = new FileReader();
      reader.onload = function () {
        textarea.value = String(reader.result);
        run();
      };
      reader.readAsText(file.files[0]);
    });
  }

  window.OuhubCheck = {
    VERDICTS: VERDICTS, decide: decide, chain: chain, parseModuleList: parseModuleList,
    mount: mount, renderReport: renderReport
  };

  function start() {
    var root = document.getElementById("ouhub-check");
    if (root) { mount(root, window.OUHUB_CHECK_DATA); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
