"""Hiding credentials: every DSN and URL that ouhub prints or stores goes through here;
and hiding the hosts' file system paths from what the site publishes (``hide_paths``).

A PostgreSQL DSN is read by libpq's own parser (psycopg2's ``parse_dsn``, rebuilt with
``make_dsn``), so a quoted password with spaces or escaped quotes is hidden whole;
a URL of any scheme (``postgresql://``, a Celery broker's ``amqp://``, a branch's
``https://user:token@github.com/...`` or ``bzr+ssh://user:pass@host/...``, a sample's
dump) by urllib; a message or a log line has each URL in it redacted (``redact_urls``).
When a value cannot be parsed, everything from the password on is hidden: showing too
little beats leaking a part of the secret. The URL a fetch uses is never touched: only
what is shown or stored passes through here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

HIDDEN = "***"
_TOKEN_AS_USER = ("http", "https", "git+https")
_BARE = re.compile(r"[\w@%+=:,./*-]+")
_PASSWORD_TAIL = re.compile(r"(password\s*=\s*).*", re.IGNORECASE | re.DOTALL)


def redact_dsn(value: str) -> str:
    """``value`` (a keyword DSN, a URL with credentials, or any other string) without its password."""
    if "://" in value:
        return _redact_url(value)
    if "=" not in value:
        return value  # a bare database name, or text with no keyword=value in it
    from psycopg2 import ProgrammingError
    from psycopg2.extensions import make_dsn, parse_dsn

    try:
        params = parse_dsn(value)
    except ProgrammingError:
        return _PASSWORD_TAIL.sub(r"\1" + HIDDEN, value)
    if "password" not in params:
        return value
    params["password"] = HIDDEN
    return make_dsn(**params)


def _redact_url(url: str) -> str:
    parts = urlsplit(url)
    netloc, query = parts.netloc, parts.query
    if "@" in parts.path + parts.query + parts.fragment:
        # the password holds an unescaped '/', '?' or '#': the userinfo is everything up to
        # the last '@', of which we cannot tell the user from the password
        scheme, _, rest = url.partition("://")
        return f"{scheme}://{HIDDEN}@{rest.rpartition('@')[2]}"
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}:{HIDDEN}@{host}"
    elif parts.username and parts.scheme.lower() in _TOKEN_AS_USER:
        # https://<token>@github.com/...: over http a user alone is how a token is given
        netloc = f"{HIDDEN}@{netloc.rpartition('@')[2]}"
    pairs = parse_qsl(query, keep_blank_values=True)
    if any(key.lower() == "password" for key, _ in pairs):
        query = urlencode([(k, HIDDEN if k.lower() == "password" else v) for k, v in pairs],
                          safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


# a URL in free text: a scheme, then everything up to a space, a quote or an angle bracket
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def redact_urls(text: str) -> str:
    """``text`` (a message, a log line) with every URL in it passed through ``redact_dsn``."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: redact_dsn(m.group(0)), text)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of the given secrets (a password ouhub passed on) replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, HIDDEN)
    return text


def redact_argv(argv: Iterable[str], secrets: Iterable[str] = ()) -> str:
    """An argv as a shell line, DSNs and URLs in it redacted, the given secrets hidden."""
    import shlex

    secrets = list(secrets)
    shown = []
    for arg in argv:
        if "://" in arg or "password" in arg.lower():
            arg = redact_dsn(arg)
        arg = redact_text(arg, secrets)
        # '***' stays bare: the line is for reading, and a quoted '***' reads like a value
        shown.append(arg if _BARE.fullmatch(arg) else shlex.quote(arg))
    return " ".join(shown)


# A POSIX absolute path of two parts or more: not a URL's (after "//" or ":"), not inside a
# word or a relative path, not a closing tag ("</script>" is text to show as it is)
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~/:<-])/(?:[\w.+@-]+/)+[\w.+@-]+/?")
# where a published path starts to tell the reader something: the code of a module
_CODE_ROOTS = ("addons", "openerp", "odoo", "openupgrade_scripts")


def hide_paths(text: str) -> str:
    """``text`` with each absolute file system path shortened to what tells a reader of the
    published site something, and nothing of the host's layout: from the last addons/,
    openerp/ or odoo/ folder on (``/srv/ou/addons/sale/x.py`` -> ``addons/sale/x.py``),
    else its last part (``/tmp/run-3/openerp_server.py`` -> ``openerp_server.py``)."""
    return _ABSOLUTE_PATH.sub(_short_path, text) if "/" in text else text


def _short_path(match: re.Match[str]) -> str:
    parts = match.group(0).rstrip("/").split("/")
    for index in range(len(parts) - 2, 0, -1):
        if parts[index] in _CODE_ROOTS:
            return "/".join(parts[index:])
    return parts[-1] or match.group(0)
