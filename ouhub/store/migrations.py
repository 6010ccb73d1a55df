"""The store's schema: named migrations, applied once each in name order.

Append only: a released migration is never edited. Each stage owns its slots
(0002 sync, 0003 coverage, 0004 runner, 0005 upstream); parallel work numbers its
own in the range it was given. The list is in name order, the order in which a new
store applies them (tests/store/test_migrations.py fails otherwise).
"""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_foundation",
        """
        CREATE TABLE stage_log (
            id INTEGER PRIMARY KEY,
            stage TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT NOT NULL,
            ok INTEGER NOT NULL,
            summary TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX stage_log_stage ON stage_log (stage, finished_at);
        """,
    ),
    (
        "0002_sync",
        """
        CREATE TABLE sync_state (
            release TEXT NOT NULL,
            branch TEXT NOT NULL,
            url TEXT NOT NULL,
            served_url TEXT,
            vcs TEXT,
            revid TEXT,
            revno INTEGER,
            new_revisions INTEGER NOT NULL DEFAULT 0,
            last_success TEXT,
            last_attempt TEXT NOT NULL,
            last_error TEXT,
            PRIMARY KEY (release, branch)
        );
        """,
    ),
    (
        "0003_coverage",
        """
        CREATE TABLE coverage_scans (
            id INTEGER PRIMARY KEY,
            release TEXT NOT NULL,
            previous TEXT,
            source TEXT NOT NULL,
            revisions_key TEXT NOT NULL,
            revisions TEXT NOT NULL DEFAULT '{}',
            scanned_at TEXT NOT NULL,
            duration REAL NOT NULL DEFAULT 0,
            totals TEXT NOT NULL DEFAULT '{}',
            summary TEXT NOT NULL DEFAULT '{}'
        );
        CREATE UNIQUE INDEX coverage_scans_key ON coverage_scans (release, source, revisions_key);
        CREATE TABLE coverage_modules (
            scan_id INTEGER NOT NULL REFERENCES coverage_scans (id) ON DELETE CASCADE,
            module TEXT NOT NULL,
            status TEXT NOT NULL,
            target TEXT,
            version TEXT,
            path TEXT,
            in_tree INTEGER NOT NULL DEFAULT 0,
            manifest_error TEXT,
            evidence TEXT NOT NULL DEFAULT '{}',
            analysis_size INTEGER NOT NULL DEFAULT 0,
            analysis_annotated INTEGER NOT NULL DEFAULT 0,
            analysed_share REAL,
            analysis_counts TEXT NOT NULL DEFAULT '{}',
            analysis_source TEXT,
            disagreements TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (scan_id, module)
        );
        CREATE TABLE coverage_warnings (
            id INTEGER PRIMARY KEY,
            scan_id INTEGER NOT NULL REFERENCES coverage_scans (id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            message TEXT NOT NULL
        );
        CREATE INDEX coverage_warnings_scan ON coverage_warnings (scan_id);
        """,
    ),
    (
        "0004_runner",
        """
        CREATE TABLE sample_templates (
            sample TEXT PRIMARY KEY,
            release TEXT NOT NULL,
            dbname TEXT NOT NULL,
            checksum TEXT NOT NULL,
            dump TEXT NOT NULL,
            filestore TEXT,
            imported_at TEXT NOT NULL
        );
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL DEFAULT 'run',
            release TEXT NOT NULL,
            previous TEXT,
            sample TEXT,
            source_db TEXT,
            status TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            duration REAL,
            revisions TEXT NOT NULL DEFAULT '{}',
            log_path TEXT,
            scratch_db TEXT,
            exit_code INTEGER,
            message TEXT NOT NULL DEFAULT '',
            chain_id INTEGER,
            host TEXT NOT NULL DEFAULT '',
            pid INTEGER
        );
        CREATE INDEX runs_release ON runs (release, sample, id);
        CREATE TABLE run_modules (
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            module TEXT NOT NULL,
            outcome TEXT NOT NULL,
            version_before TEXT,
            version_after TEXT,
            scripts TEXT NOT NULL DEFAULT '[]',
            excerpt TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (run_id, module)
        );
        CREATE TABLE scratch_databases (
            name TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            run_id INTEGER,
            host TEXT NOT NULL DEFAULT '',
            pid INTEGER,
            keep INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            dropped_at TEXT
        );
        """,
    ),
    (
        "0005_upstream",
        """
        CREATE TABLE upstream_lag (
            release TEXT NOT NULL,
            branch TEXT NOT NULL,
            upstream_url TEXT NOT NULL,
            served_url TEXT,
            upstream_revid TEXT,
            mirror_revid TEXT,
            unmerged_count INTEGER NOT NULL DEFAULT 0,
            oldest_unmerged TEXT,
            authors TEXT NOT NULL DEFAULT '[]',
            modules TEXT NOT NULL DEFAULT '[]',
            last_success TEXT,
            last_attempt TEXT NOT NULL,
            last_error TEXT,
            PRIMARY KEY (release, branch)
        );
        CREATE TABLE upstream_unmerged (
            release TEXT NOT NULL,
            branch TEXT NOT NULL,
            position INTEGER NOT NULL,
            revid TEXT NOT NULL,
            revno TEXT,
            author TEXT NOT NULL,
            date TEXT NOT NULL,
            message TEXT NOT NULL,
            modules TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (release, branch, revid),
            FOREIGN KEY (release, branch) REFERENCES upstream_lag (release, branch)
                ON DELETE CASCADE
        );
        """,
    ),
    (
        "0006_coverage_stamps",
        # what a scanned directory looked like (directory and content-file times), so that
        # an unchanged `coverage scan --path` is told by stat calls, without walking the tree
        """
        CREATE TABLE coverage_stamps (
            source TEXT PRIMARY KEY,
            revisions TEXT NOT NULL,
            stamp TEXT NOT NULL
        );
        """,
    ),
    (
        "0010_coverage_parse_cache",
        # the analysis files' parse results of a scanned source, by path and stamp
        # (ouhub.coverage.parsecache): a rescan after one changed module parses one file
        """
        CREATE TABLE coverage_parse_cache (
            source TEXT PRIMARY KEY,
            data BLOB NOT NULL
        );
        """,
    ),
    (
        "0020_sync_git_mirrors",
        # git mirrors are read with git itself: a synced commit is its sha (breezy wrote
        # "git-v1:<sha>"), and a branch's mirror may be a repository shared by its remote's
        # branches, named here so that `ouhub status --json` says where a release's files are
        """
        ALTER TABLE sync_state ADD COLUMN mirror TEXT;
        UPDATE sync_state SET revid = substr(revid, 8) WHERE revid LIKE 'git-v1:%';
        """,
    ),
    (
        "0030_workers",
        # runs done by Celery workers: which worker, how many workers were lost with the run;
        # each upgrade's process group, so that what a killed ouhub leaves running is found
        """
        ALTER TABLE runs ADD COLUMN worker TEXT;
        ALTER TABLE runs ADD COLUMN losses INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE upgrade_processes (
            marker TEXT PRIMARY KEY,
            host TEXT NOT NULL,
            pgid INTEGER NOT NULL,
            owner_pid INTEGER NOT NULL,
            database TEXT NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT
        );
        CREATE INDEX upgrade_processes_live ON upgrade_processes (host, ended_at);
        """,
    ),
    (
        "0040_contributions",
        """

        CREATE TABLE contribution_pulls (
            number INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            state TEXT NOT NULL,
            merged INTEGER NOT NULL,
            draft INTEGER NOT NULL,
            author TEXT NOT NULL,
            author_is_bot INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            closed_at TEXT,
            merged_at TEXT,
            base TEXT NOT NULL,
            head_sha TEXT NOT NULL,
            head_ref TEXT NOT NULL,
            url TEXT NOT NULL,
            body TEXT NOT NULL,
            labels TEXT NOT NULL,
            files_head TEXT,
            files TEXT,
            activity_at TEXT,
            last_author_activity TEXT,
            approvals INTEGER,
            changes_requested INTEGER,
            next_actor TEXT,
            superseded_by INTEGER,
            error TEXT,
            collected_at TEXT NOT NULL
        );
        CREATE INDEX contribution_pulls_base ON contribution_pulls (base, state);
        CREATE TABLE contribution_matches (
            source TEXT NOT NULL,
            ref TEXT NOT NULL,
            release TEXT NOT NULL,
            module TEXT NOT NULL,
            evidence TEXT NOT NULL,
            declared_status TEXT,
            PRIMARY KEY (source, ref, release, module)
        );
        CREATE INDEX contribution_matches_module ON contribution_matches (release, module);
        CREATE TABLE contribution_releases (
            release TEXT PRIMARY KEY,
            closed_through TEXT,
            collected_at TEXT,
            last_error TEXT
        );
        CREATE TABLE contribution_tracking (
            release TEXT PRIMARY KEY,
            number INTEGER,
            title TEXT NOT NULL,
            url TEXT NOT NULL,
            body TEXT NOT NULL,
            updated_at TEXT,
            searched_at TEXT NOT NULL
        );
        CREATE TABLE contribution_state (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE github_etags (
            url TEXT PRIMARY KEY,
            etag TEXT NOT NULL,
            body BLOB NOT NULL,
            link TEXT NOT NULL,
            saved_at TEXT NOT NULL
        );
        CREATE TABLE merge_proposals (
            url TEXT PRIMARY KEY,
            project TEXT NOT NULL,
            source_branch TEXT NOT NULL,
            target_branch TEXT NOT NULL,
            release TEXT,
            registrant TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at TEXT NOT NULL,
            merged_at TEXT,
            paths TEXT NOT NULL,
            collected_at TEXT NOT NULL
        );
        CREATE TABLE launchpad_unreachable (
            project TEXT PRIMARY KEY,
            since TEXT NOT NULL,
            message TEXT NOT NULL
        );
        """,
    ),
    (
        "0050_coverage_published",
        # which scans are a release's coverage: every scan of the mirrors, and a scan of a
        # directory (--path) only when published (no mirror scan then, or --publish)
        """
        ALTER TABLE coverage_scans ADD COLUMN published INTEGER NOT NULL DEFAULT 1;
        """,
    ),
    (
        "0060_failures",
        # each failed module outcome's fingerprint; the fingerprints themselves; a
        # regression's suspect commits, read from the mirrors once per branch and stored
        """
        ALTER TABLE run_modules ADD COLUMN fingerprint TEXT;
        CREATE INDEX run_modules_fingerprint ON run_modules (fingerprint);
        CREATE TABLE fingerprints (
            key TEXT PRIMARY KEY,
            module TEXT NOT NULL,
            stage TEXT NOT NULL,
            exception TEXT NOT NULL,
            message TEXT NOT NULL
        );
        CREATE TABLE suspect_ranges (
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            module TEXT NOT NULL,
            branch TEXT NOT NULL,
            since_run_id INTEGER NOT NULL,
            since TEXT NOT NULL,
            until TEXT NOT NULL,
            total INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            read_at TEXT NOT NULL,
            PRIMARY KEY (run_id, module, branch)
        );
        CREATE TABLE suspect_commits (
            run_id INTEGER NOT NULL,
            module TEXT NOT NULL,
            branch TEXT NOT NULL,
            position INTEGER NOT NULL,
            revision TEXT NOT NULL,
            revid TEXT NOT NULL,
            author TEXT NOT NULL,
            date TEXT NOT NULL,
            summary TEXT NOT NULL,
            PRIMARY KEY (run_id, module, branch, position),
            FOREIGN KEY (run_id, module, branch) REFERENCES suspect_ranges (run_id, module, branch)
                ON DELETE CASCADE
        );
        """,
    ),
    (
        "0061_suspect_folder",
        # where the module lives in the branch: a suspect commit links the module's folder
        """
        ALTER TABLE suspect_ranges ADD COLUMN folder TEXT;
        """,
    ),
    (
        "0070_spare_clones",
        # a spare clone of a sample's template, made ahead so that a run takes its scratch
        # database with a rename: which template each database was cloned from, and per
        # template the CREATE DATABASE strategy measured fastest at import
        """
        ALTER TABLE scratch_databases ADD COLUMN cloned_from TEXT;
        CREATE TABLE template_clones (
            template TEXT PRIMARY KEY,
            strategy TEXT NOT NULL,
            file_copy_seconds REAL,
            wal_log_seconds REAL,
            measured_at TEXT NOT NULL
        );
        """,
    ),
    (
        "0080_redact_stored_credentials",
        # rows written before branch URLs were redacted (issue 15) keep their credentials:
        # redacted in place by ouhub.redact's functions (``db._add_sql_functions``), as the store
        # writes them now; secure_delete zeroes what the rewritten rows leave behind
        """
        PRAGMA secure_delete = ON;
        UPDATE sync_state SET url = redact_dsn(url), served_url = redact_dsn(served_url),
            last_error = redact_urls(last_error);
        UPDATE upstream_lag SET upstream_url = redact_dsn(upstream_url),
            served_url = redact_dsn(served_url), last_error = redact_urls(last_error);
        UPDATE runs SET message = redact_urls(message);
        UPDATE stage_log SET summary = redact_urls(summary);
        """,
    ),
]
