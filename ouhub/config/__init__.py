"""The TOML config, read into typed, frozen objects.

Loading (``load``: file -> dict) is apart from validating (``from_dict``: dict
-> Config), so tests and ``discover --write`` can validate a dict they built.
Every mistake is collected and reported at once, each naming the file, the
line where we can find it, the key and what is expected.

By job: ``records`` (the frozen objects), ``load`` (finding and reading the
file), ``validate`` (each table's checks), ``problems`` (collecting mistakes
with their line). Callers import from ``ouhub.config`` as before.
"""

from ouhub.config.load import DEFAULT_CONFIG, ENV_CONFIG, MAX_CONFIG_BYTES, find_config, load
from ouhub.config.records import (
    DEFAULT_LOG_LIMIT,
    DEFAULT_QUEUE,
    Branch,
    Config,
    ContributionsSettings,
    Release,
    RunnerSettings,
    Sample,
    SiteSettings,
)
from ouhub.config.validate import (
    BROKER_SCHEMES,
    DEFAULT_DSN,
    DUMP_URL_SCHEMES,
    PLACEHOLDERS,
    VCS_KINDS,
    from_dict,
    vcs_of_url,
)

__all__ = [
    "BROKER_SCHEMES", "DEFAULT_CONFIG", "DEFAULT_DSN", "DEFAULT_LOG_LIMIT", "DEFAULT_QUEUE",
    "DUMP_URL_SCHEMES", "ENV_CONFIG", "MAX_CONFIG_BYTES", "PLACEHOLDERS", "VCS_KINDS",
    "Branch", "Config", "ContributionsSettings", "Release", "RunnerSettings", "Sample",
    "SiteSettings", "find_config", "from_dict", "load", "vcs_of_url",
]
