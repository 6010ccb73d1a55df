"""Finding and reading the config file: file -> TOML dict -> ``validate.from_dict``."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from ouhub.config.records import Config
from ouhub.config.validate import from_dict
from ouhub.errors import ConfigError
from ouhub.fsutil import read_capped

DEFAULT_CONFIG = "ouhub.toml"
ENV_CONFIG = "OUHUB_CONFIG"
MAX_CONFIG_BYTES = 1 << 20  # the real project's config, every release from 6.0 to 19.0: 10 KB


def find_config(explicit: str | os.PathLike | None) -> Path:
    """--config, else $OUHUB_CONFIG, else ./ouhub.toml."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_CONFIG):
        return Path(os.environ[ENV_CONFIG])
    return Path(DEFAULT_CONFIG)


def load(path: str | os.PathLike) -> Config:
    """Read and validate the config file at ``path``."""
    path = Path(path)
    try:
        text = read_capped(path, MAX_CONFIG_BYTES).decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such config file",
            hint="pass --config FILE, set $OUHUB_CONFIG, or copy examples/openupgrade.toml "
            "to ./ouhub.toml",
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the config: {exc}",
                          hint="give the path of a TOML file (--config FILE)") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid TOML: {exc}", hint="fix the syntax at the line shown"
        ) from exc
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML: arrays or tables nested too deeply",
                          hint="a config needs a few levels, not thousands") from None
    return from_dict(data, path=path, text=text)
