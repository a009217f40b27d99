"""A mistyped command is named as unknown and the commands are listed; no command, or options alone, still serve."""

from __future__ import annotations

from click.testing import CliRunner

from micro_dashboard.cli import cli


def test_an_unknown_command_is_named_and_the_commands_are_listed() -> None:
    result = CliRunner().invoke(cli, ["nosuch"])
    assert result.exit_code == 2
    assert "Error: unknown command 'nosuch'." in result.output
    listed = result.output.split("The commands are: ")[1].split(".")[0].split(", ")
    assert {"serve", "demo", "tail", "export", "validate", "schema", "schemas"} <= set(listed)
    assert listed == sorted(cli.commands)
    assert "unexpected extra argument" not in result.output
    assert "--max-events" not in result.output  # not serve's usage


def test_a_near_miss_suggests_the_command_it_resembles() -> None:
    result = CliRunner().invoke(cli, ["serv"])
    assert result.exit_code == 2
    assert "unknown command 'serv'. Did you mean 'serve'?" in result.output


def test_options_alone_go_to_serve() -> None:
    # An invalid port shows that serve parsed the option, without starting a server.
    result = CliRunner().invoke(cli, ["--port", "not-a-port"])
    assert result.exit_code == 2
    assert "Invalid value for '-p' / '--port'" in result.output
    assert "unknown command" not in result.output


def test_no_command_runs_serve() -> None:
    result = CliRunner().invoke(cli, [], env={"MICRO_DASHBOARD_PORT": "not-a-port"})
    assert result.exit_code == 2
    assert "Invalid value for '-p' / '--port'" in result.output


def test_a_known_command_still_runs() -> None:
    result = CliRunner().invoke(cli, ["validate", "--help"])
    assert result.exit_code == 0
    assert result.output.startswith("Usage: cli validate")
