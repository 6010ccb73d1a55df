"""The config: valid files load into typed objects; each mistake gets one clear message."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from ouhub import config as config_mod
from ouhub.cli import main
from ouhub.errors import ConfigError
from ouhub.redact import redact_dsn
from tests.support.process import ouhub_process

REPO = Path(__file__).resolve().parent.parent

VALID = """\
data_dir = "state"
dsn = "postgresql://ouhub:s3cret@db.example.org:5432/postgres"

[releases."6.1"]
[releases."6.1".branches.server]
url = "lp:openupgrade-server/6.1"

[releases."7.0"]
previous = "6.1"

[releases."7.0".branches.server]
url = "lp:openupgrade-server/7.0"
upstream = "lp:openobject-server/7.0"
fallback = ["https://github.com/OCA/OpenUpgrade.git,branch=7.0"]
addons = ["openerp/addons"]

[releases."7.0".branches.addons]
url = "https://github.com/OCA/OpenUpgrade.git,branch=7.0"

[[samples]]
name = "demo61"
release = "6.1"
dump = "samples/demo61.dump"

[runner]
timeout = 600
parallel = 2

[runner.commands]
"7.0" = "openerp-server -d {database} --addons-path {addons_path} --logfile {logfile} {mirror_server}"

[site]
code_browser = "https://example.org/{release}/{path}"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ouhub.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_valid_config_resolves_paths_defaults_and_vcs(tmp_path):
    cfg = config_mod.load(write(tmp_path, VALID))
    assert cfg.data_dir == tmp_path / "state"
    assert cfg.store_path == tmp_path / "state" / "ouhub.sqlite"
    assert list(cfg.releases) == ["6.1", "7.0"]
    server = cfg.release("7.0").branch("server")
    assert server.vcs == "bzr" and server.upstream == "lp:openobject-server/7.0"
    assert server.fallback == ("https://github.com/OCA/OpenUpgrade.git,branch=7.0",)
    assert cfg.release("7.0").branch("addons").vcs == "git"
    assert cfg.samples[0].dump == tmp_path / "samples" / "demo61.dump"
    assert cfg.runner.timeout == 600 and cfg.runner.parallel == 2
    # no broker: every run stays in-process, as before the workers existed
    assert cfg.runner.broker is None and cfg.runner.queue == "ouhub-runs"
    assert cfg.runner.log_limit == config_mod.DEFAULT_LOG_LIMIT and cfg.samples[0].url is None
    assert cfg.site.output == tmp_path / "state" / "site"
    assert cfg.mirror_path(server) == tmp_path / "state" / "mirrors" / "7.0" / "server"
    assert cfg.chain("6.1", "7.0") == [("6.1", "7.0")]
    assert cfg.steps == [("6.1", "7.0")]
    assert cfg.site.feeds == ()


def test_feeds_are_module_sets_sorted_once_each(tmp_path):
    cfg = config_mod.load(write(tmp_path, VALID + 'feeds = [["sale", "crm"], ["crm", "sale", '
                                                  '"sale"], ["account"]]\n'))
    assert cfg.site.feeds == (("crm", "sale"), ("account",))


def test_password_never_shown(tmp_path):
    cfg = config_mod.load(write(tmp_path, VALID))
    assert "s3cret" not in str(cfg.redacted())
    shown = redact_dsn("host=x password=abc user=y")
    assert sorted(shown.split()) == ["host=x", "password=***", "user=y"]
    broker = VALID.replace("parallel = 2", 'parallel = 2\nbroker = "amqp://ouhub:b40ker@mq:5672/ou"')
    broker = broker.replace('dump = "samples/demo61.dump"',
                            'dump = "https://ouhub:d4mp@dumps.example.org/demo61.dump"')
    cfg = config_mod.load(write(tmp_path, broker))
    shown = str(cfg.redacted())
    assert "b40ker" not in shown and "amqp://ouhub:***@mq:5672/ou" in shown
    assert "d4mp" not in shown and "https://ouhub:***@dumps.example.org/demo61.dump" in shown
    # a dump given by URL is fetched into the data dir; the URL is kept to fetch it from
    assert cfg.samples[0].url == "https://ouhub:d4mp@dumps.example.org/demo61.dump"
    assert cfg.samples[0].dump == tmp_path / "state" / "samples" / "downloads" / "demo61.dump"


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param(
            VALID.replace("timeout = 600", "timout = 600"),
            ["ouhub.toml:", "runner.timout: unknown key; did you mean 'timeout'?"],
            id="unknown-key-did-you-mean",
        ),
        pytest.param(
            VALID.replace('previous = "6.1"', 'previous = "6.2"'),
            ['releases."7.0".previous', "release '6.2' is not configured; did you mean '6.1'?"],
            id="previous-missing",
        ),
        pytest.param(
            VALID.replace('[releases."6.1"]\n', '[releases."6.1"]\nprevious = "7.0"\n'),
            ["`previous` forms a cycle: 6.1 -> 7.0 -> 6.1"],
            id="cycle",
        ),
        pytest.param(
            VALID.replace('url = "lp:openupgrade-server/6.1"', 'upstream = "lp:x"'),
            ['releases."6.1".branches.server.url: missing required key'],
            id="missing-url",
        ),
        pytest.param(
            VALID.replace('url = "lp:openupgrade-server/6.1"',
                          'url = "lp:openupgrade-server/6.1"\ncode_browser = 3'),
            ['releases."6.1".branches.server.code_browser', "a URL pattern with {path}"],
            id="branch-code-browser",
        ),
        pytest.param(
            VALID.replace('release = "6.1"\ndump', 'release = "5.0"\ndump'),
            ["samples.release: sample 'demo61': release '5.0' is not configured"],
            id="sample-unknown-release",
        ),
        pytest.param(
            VALID.replace("parallel = 2", 'parallel = "two"'),
            ["runner.parallel: expected a whole number, got str 'two'"],
            id="wrong-type",
        ),
        pytest.param(
            VALID.replace("{logfile}", "{log_file}"),
            ["unknown placeholder {log_file}; did you mean {logfile}?"],
            id="bad-placeholder",
        ),
        pytest.param(
            VALID.replace("parallel = 2", 'broker = "redis://127.0.0.1:6379/0"'),
            ["runner.broker: expected a RabbitMQ URL such as amqp://user:password@host:5672/vhost"],
            id="broker-not-amqp",
        ),
        pytest.param(
            VALID.replace("parallel = 2", 'queue = "runs of 7.0"'),
            ["runner.queue: 'runs of 7.0': a queue name uses letters"],
            id="queue-name",
        ),
        pytest.param(
            VALID.replace("parallel = 2", "log_limit = 100"),
            ["runner.log_limit: expected at least 10000 characters"],
            id="log-limit-too-small",
        ),
        pytest.param(
            VALID.replace('dump = "samples/demo61.dump"', 'dump = "ftp://x/demo61.dump"'),
            ["samples.dump: sample 'demo61': a dump is a path or an http(s) URL"],
            id="dump-url-scheme",
        ),
        pytest.param(
            VALID.replace('dump = "samples/demo61.dump"\n', ""),
            ["samples.dump: missing required key in sample #1"],
            id="sample-missing-dump",
        ),
        pytest.param(
            VALID.replace('url = "https://github.com/OCA/OpenUpgrade.git,branch=7.0"',
                          'url = "x"\nvcs = "svn"'),
            ['releases."7.0".branches.addons.vcs: expected one of bzr, git'],
            id="bad-vcs",
        ),
        pytest.param(
            VALID.replace('[releases."6.1"]', '[releases."six"]').replace(
                '[releases."6.1".branches', '[releases."six".branches'),
            ['releases.six: a release name looks like 7.0'],
            id="bad-release-name",
        ),
        pytest.param(
            VALID.replace('[releases."6.1"]', '[releases.6.1]').replace(
                '[releases."6.1".branches', '[releases.6.1.branches'),
            ['releases.6: quote the release name: [releases."6.1"]'],
            id="unquoted-release-name",
        ),
        pytest.param("releases = [", ["not valid TOML"], id="toml-syntax"),
        pytest.param(VALID.replace("timeout = 600", "timeout = nan"),
                     ["runner.timeout: expected a positive number of seconds, got nan"],
                     id="timeout-nan"),
        pytest.param(VALID.replace("timeout = 600", "timeout = inf"),
                     ["runner.timeout: expected a positive number of seconds, got inf"],
                     id="timeout-inf"),
        pytest.param(VALID.replace("branches.addons]", 'branches.".."]'),
                     ['branches."..": a branch name starts with a letter, digit or \'_\''],
                     id="branch-dot-dot"),
        pytest.param("x = " + "[" * 100_000 + "]" * 100_000 + "\n",
                     ["nested too deeply"], id="nested-too-deep"),
        pytest.param(VALID + 'feeds = ["sale", "crm"]\n',
                     ['site.feeds: expected a list of module lists such as [["sale", "crm"]]'],
                     id="feeds-flat"),
        pytest.param(VALID + 'feeds = [["sale", "Sale Orders"]]\n',
                     ["site.feeds: not module names (lowercase technical names): ['Sale Orders']"],
                     id="feeds-bad-name"),
    ],
)
def test_each_mistake_has_a_clear_message(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        config_mod.load(path)
    message = str(info.value)
    assert str(path) in message
    for part in expected:
        assert part in message


def test_line_numbers_point_at_the_key(tmp_path):
    path = write(tmp_path, VALID.replace("timeout = 600", "timout = 600"))
    with pytest.raises(ConfigError) as info:
        config_mod.load(path)
    line = VALID.splitlines().index("timeout = 600") + 1
    assert f"ouhub.toml:{line}: runner.timout" in str(info.value)


def test_all_mistakes_reported_at_once(tmp_path):
    text = VALID.replace("timeout = 600", "timout = 600").replace("parallel = 2", "parallel = 0")
    with pytest.raises(ConfigError) as info:
        config_mod.load(write(tmp_path, text))
    assert "2 mistakes" in str(info.value)


def test_a_config_that_is_no_regular_file_is_refused_at_once(tmp_path):
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    big = tmp_path / "big.toml"
    big.write_text("# padding\n" * 200_000)
    for path, expected in ((Path("/dev/zero"), "not a regular file"),
                           (fifo, "not a regular file"), (big, "larger than")):
        # in a child process: reading a FIFO or /dev/zero whole would hang or fill the memory
        result = ouhub_process("--config", path, "config", "check")
        assert result.returncode == 2, result.stderr
        assert str(path) in result.stderr and expected in result.stderr
        assert "Traceback" not in result.stderr


def test_missing_file_says_where_to_put_it(tmp_path):
    with pytest.raises(ConfigError) as info:
        config_mod.load(tmp_path / "nope.toml")
    assert "no such config file" in str(info.value) and "OUHUB_CONFIG" in info.value.hint


def test_config_found_through_environment(tmp_path, monkeypatch):
    path = write(tmp_path, VALID)
    monkeypatch.setenv("OUHUB_CONFIG", str(path))
    assert config_mod.find_config(None) == path
    monkeypatch.delenv("OUHUB_CONFIG")
    assert config_mod.find_config(None) == Path("ouhub.toml")


def test_chain_refuses_going_backwards(tmp_path):
    cfg = config_mod.load(write(tmp_path, VALID))
    with pytest.raises(ConfigError, match="does not follow"):
        cfg.chain("7.0", "6.1")
    with pytest.raises(ConfigError, match="unknown release '8.0'"):
        cfg.chain("6.1", "8.0")


def test_cli_config_check_exit_codes(tmp_path):
    runner = CliRunner()
    good = write(tmp_path, VALID)
    result = runner.invoke(main, ["--config", str(good), "config", "check", "--json"])
    assert result.exit_code == 0, result.output
    assert '"7.0"' in result.stdout and "s3cret" not in result.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(VALID.replace("timeout = 600", "timout = 600"))
    result = runner.invoke(main, ["--config", str(bad), "config", "check"])
    assert result.exit_code == 2
    assert "did you mean 'timeout'" in result.stderr


def test_the_real_projects_config_passes():
    cfg = config_mod.load(REPO / "examples" / "openupgrade.toml")
    assert cfg.chain("6.0", "19.0")[0] == ("6.0", "6.1")
    assert len(cfg.chain("6.0", "19.0")) == 14
    seven = cfg.release("7.0")
    assert {b.name for b in seven.branches} == {"server", "addons", "web"}
    assert seven.branch("server").url == "lp:openupgrade-server/7.0"
    assert seven.branch("server").upstream == "lp:openobject-server/7.0"
    assert seven.branch("addons").fallback[0].endswith("OpenUpgrade.git,branch=7.0")
    assert cfg.release("12.0").branches[0].vcs == "git"


def test_the_readme_config_reference_is_a_valid_config(tmp_path):
    # a new user starts from it: every key it shows must load as it stands
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("\n## Configuration\n"):]
    start = section.index("```toml\n") + len("```toml\n")
    path = tmp_path / "ouhub.toml"
    path.write_text(section[start:section.index("```", start)], encoding="utf-8")
    config = config_mod.load(path)
    assert config.releases["7.0"].previous == "6.1"
    assert config.contributions is not None and config.samples
