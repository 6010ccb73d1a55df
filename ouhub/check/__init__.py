"""`ouhub check`: can a set of modules be migrated from one release to another?

``rules`` decides the verdicts (pure, shared with the site's check page through the
check data's JSON format), ``modlist`` reads module lists, ``data`` builds and caches
the check data, ``db`` reads a live database read-only, ``command`` is the entry
point the CLI calls and ``render`` prints the report.
"""
