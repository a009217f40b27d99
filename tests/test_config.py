"""Settings come from the documented environment variables, the flags, or a dict, and each is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from micro_dashboard.cli import cli, serve
from micro_dashboard.config import Settings, env_var

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_the_documented_environment_variables_configure_an_embedded_app() -> None:
    settings = Settings.load(environ={
        "MICRO_DASHBOARD_IGLU_DIR": "/a /b",
        "MICRO_DASHBOARD_IGLU_REGISTRY": "http://r1 http://r2,key",
        "MICRO_DASHBOARD_NO_DEFAULT_REGISTRIES": "1",
        "MICRO_DASHBOARD_PATH_ALIAS": "/com.acme/t=/com.snowplowanalytics.snowplow/tp2",
        "MICRO_DASHBOARD_CORS_ORIGIN": "http://app.test",
        "MICRO_DASHBOARD_MAX_BODY_BYTES": "1000",
        "MICRO_DASHBOARD_IGLU_TIMEOUT": "0.5",
        "MICRO_DASHBOARD_MAX_AGE": "2h",
        "MICRO_DASHBOARD_STRICT": "true",
    })
    assert settings.iglu_dirs == ["/a", "/b"] and settings.iglu_registries == ["http://r1", "http://r2,key"]
    assert settings.iglu_defaults is False and settings.strict is True
    assert settings.path_aliases == {"/com.acme/t": "/com.snowplowanalytics.snowplow/tp2"}
    assert settings.cors_origins == ["http://app.test"] and settings.max_body_bytes == 1000
    assert settings.iglu_timeout == 0.5 and settings.max_age == 7200


def test_explicit_settings_win_over_the_environment() -> None:
    settings = Settings.load({"port": 1234, "db": None}, environ={"MICRO_DASHBOARD_PORT": "9999"})
    assert settings.port == 1234 and settings.db.endswith("events.db")


def test_every_serve_flag_reads_the_variable_its_setting_documents() -> None:
    for option in serve.params:
        if option.name in ("help",):
            continue
        assert option.envvar == env_var(_setting(option.name)), option.name


def test_every_serve_flag_and_its_variable_are_in_the_readme() -> None:
    for option in serve.params:
        flag = max(option.opts, key=len)
        assert f"`{flag}" in README, f"{flag} is not documented in README.md"
        assert option.envvar in README, f"{option.envvar} is not documented in README.md"


def test_every_command_is_in_the_readme() -> None:
    for name in cli.commands:
        assert re.search(rf"micro-dashboard {name}\b", README), f"micro-dashboard {name} is not in README.md"


@pytest.mark.parametrize(("flag", "value"), [("--max-age", "soon"), ("--iglu-timeout", "x")])
def test_a_bad_duration_is_a_usage_error_naming_the_flag(flag: str, value: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", "--db", str(tmp_path / "x.db"), flag, value])
    assert result.exit_code == 2 and flag in result.output and "duration" in result.output


def _setting(option_name: str) -> str:
    """Map a click parameter name to its Settings field."""
    return {"no_default_registries": "iglu_defaults"}.get(option_name, option_name)


def test_micros_own_registry_variables_are_documented() -> None:
    for variable in ("MICRO_IGLU_REGISTRY_URL", "MICRO_IGLU_API_KEY", "iglu-client-embedded/"):
        assert variable in README, f"{variable} is not documented in README.md"
