"""`micro-dashboard generate event|metric` writes what GitLab's internal events CLI writes (its own expected outputs,
byte for byte), refuses what it refuses, and what it writes loads back (issue 12, acceptance 7)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from micro_dashboard.cli import cli
from micro_dashboard.gitlab.definitions import load

FIXTURES = Path("cli-fixtures/spec/fixtures/scripts/internal_events")
ACTION = "internal_events_cli_used"  # the event of GitLab's CLI fixtures
EVENT_ANSWERS = ["--description", "Engineer uses Internal Event CLI to define a new event", "--product-group",
                 "analytics_instrumentation", "--product-category", "service_ping", "--milestone", "16.6"]


def generate(root: Path, *args: str) -> Result:
    """Run `micro-dashboard generate ...` writing into `root`."""
    return CliRunner().invoke(cli, ["generate", *args, "--dir", str(root)])


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """Return a GitLab checkout (a temporary folder) with the CLI fixtures' event generated into it."""
    result = generate(tmp_path, "event", "--action", ACTION, *EVENT_ANSWERS)
    assert result.exit_code == 0, result.output
    return tmp_path


def fixture(gitlab_definitions: Path, kind: str, name: str) -> str:
    """Return one of GitLab's expected CLI outputs."""
    return (gitlab_definitions / FIXTURES / kind / name).read_text()


def test_event_file_is_gitlabs_with_status_active(checkout, gitlab_definitions):
    expected = fixture(gitlab_definitions, "events", "event_with_identifiers.yml")
    expected = expected.replace("internal_events: true\n", "internal_events: true\nstatus: active\n")
    assert (checkout / "config" / "events" / f"{ACTION}.yml").read_text() == expected


@pytest.mark.parametrize(("args", "written", "expected"), [
    (["--unique", "user.id", "--description", "who defined an internal event using the CLI"],
     f"count_distinct_user_id_from_{ACTION}.yml", "user_id_single_event.yml"),
    (["--description", "when an event was defined using the CLI"], f"count_total_{ACTION}.yml",
     "total_single_event.yml"),
    (["--sum", "--description", "all time spent using CLI"], f"sum_value_from_{ACTION}.yml", "sum_single_event.yml"),
])
def test_metric_files_are_gitlabs_byte_for_byte(checkout, gitlab_definitions, args, written, expected):
    result = generate(checkout, "metric", "--event", ACTION, *args)
    assert result.exit_code == 0, result.output
    assert (checkout / "config" / "metrics" / "counts_all" / written).read_text() == \
        fixture(gitlab_definitions, "metrics", expected)


def test_generated_files_load_back(checkout):
    for args in (["--unique", "user.id"], [], ["--sum"], ["--unique", "project.id", "--time-frames", "7d"],
                 ["--unique", "namespace.id", "--time_frames", "28d"]):
        result = generate(checkout, "metric", "--event", ACTION, "--description", "x", *args)
        assert result.exit_code == 0, result.output
    loaded = load([checkout])
    assert [p for p in loaded.problems if p.severity == "error"] == []
    assert list(loaded.events) == [ACTION]
    assert sorted(m.key_path for m in loaded.metrics) == sorted([
        f"redis_hll_counters.count_distinct_user_id_from_{ACTION}_monthly",
        f"redis_hll_counters.count_distinct_user_id_from_{ACTION}_weekly",
        f"counts.count_total_{ACTION}_monthly", f"counts.count_total_{ACTION}_weekly", f"counts.count_total_{ACTION}",
        f"sums.sum_value_from_{ACTION}_monthly", f"sums.sum_value_from_{ACTION}_weekly",
        f"sums.sum_value_from_{ACTION}",
        f"redis_hll_counters.count_distinct_project_id_from_{ACTION}_weekly",
        f"redis_hll_counters.count_distinct_namespace_id_from_{ACTION}_monthly",
    ])
    one_frame = loaded.metric(f"redis_hll_counters.count_distinct_project_id_from_{ACTION}_weekly")
    assert one_frame is not None and one_frame.time_frame == "7d"
    assert Path(one_frame.file).parent.name == "counts_7d"
    # A single frame whose key path a frame list already expanded to is refused.
    clash = generate(checkout, "metric", "--event", ACTION, "--description", "x", "--time-frames", "28d")
    assert clash.exit_code != 0 and f"counts.count_total_{ACTION}_monthly is already defined" in clash.output


def test_ultimate_only_events_go_under_ee(tmp_path):
    result = generate(tmp_path, "event", "--action", "paid_thing", *EVENT_ANSWERS, "--tiers", "ultimate")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ee" / "config" / "events" / "paid_thing.yml").is_file()


@pytest.mark.parametrize(("args", "reason"), [
    (["--action", "Bad-Name"], "[a-z0-9_]+"),
    (["--action", ACTION], "already defined"),
    (["--action", "other_event", "--tiers", "free,ultimate"], "not one of GitLab's choices"),
    (["--action", "other_event", "--property", "custom_only=x"], "need label and property, or value"),
])
def test_event_refusals(checkout, args, reason):
    result = generate(checkout, "event", *EVENT_ANSWERS, *args)
    assert result.exit_code != 0
    assert reason in result.output
    assert not (checkout / "config" / "events" / "other_event.yml").exists()


@pytest.mark.parametrize(("args", "reason"), [
    (["--unique", "label"], "has no 'label' in its additional_properties"),
    (["--unique", "user.id", "--time-frames", "all"], "cannot have time frame all"),
    (["--tiers", "premium"], "not one of GitLab's choices"),
    (["--filter", "label=npm"], "needs --name"),
    (["--event", "undefined_event"], "is not defined"),
])
def test_metric_refusals(checkout, args, reason):
    events = [] if "--event" in args else ["--event", ACTION]
    result = generate(checkout, "metric", *events, "--description", "x", *args)
    assert result.exit_code != 0
    assert reason in result.output
    assert not (checkout / "config" / "metrics").exists()


def test_an_existing_key_path_is_refused(checkout):
    first = generate(checkout, "metric", "--event", ACTION, "--unique", "user.id", "--description", "x")
    assert first.exit_code == 0, first.output
    again = generate(checkout, "metric", "--event", ACTION, "--unique", "user.id", "--description", "y")
    assert again.exit_code != 0 and "already defined" in again.output


def test_a_long_file_name_needs_a_name(checkout):
    long_action = "a" * 90
    assert generate(checkout, "event", "--action", long_action, *EVENT_ANSWERS).exit_code == 0
    refused = generate(checkout, "metric", "--event", long_action, "--unique", "user.id", "--description", "x")
    assert refused.exit_code != 0 and "over 100 characters" in refused.output
    named = generate(checkout, "metric", "--event", long_action, "--unique", "user.id", "--description", "x",
                     "--name", "long_things")
    assert named.exit_code == 0, named.output
    assert load([checkout]).metric("redis_hll_counters.count_distinct_user_id_from_long_things_weekly") is not None


def test_stage_and_section_are_accepted_and_not_written(checkout):
    result = generate(checkout, "metric", "--event", ACTION, "--description", "x", "--stage", "monitor",
                      "--section", "analytics")
    assert result.exit_code == 0, result.output
    text = (checkout / "config" / "metrics" / "counts_all" / f"count_total_{ACTION}.yml").read_text()
    assert "stage" not in text and "section" not in text
