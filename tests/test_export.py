"""Exports over real HTTP and from the command line: NDJSON and the 131-column enriched TSV, streamed."""

from __future__ import annotations

import json
import re

import requests
from click.testing import CliRunner
from sending import gitlab_event, pixel, tp2
from snowplow_analytics_sdk.event_transformer import transform
from support import GITLAB_STANDARD

from micro_dashboard.cli import cli
from micro_dashboard.pipeline.fields import FIELDS, TIMESTAMPS

TSV_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$")


def seed(url: str) -> list[str]:
    """Send a page view, a struct event with a GitLab context and one on another app; return event ids."""
    ids = [pixel(url, e="pv", aid="web", url="http://example.com/a?b=c", page="Tab\tin title")]
    ids += tp2(url, gitlab_event("push", {"environment": "test", "project_id": 7}, aid="web", se_va="2.5"),
               {"e": "pv", "aid": "other"})
    return ids


def test_ndjson_export_is_canonical_json_oldest_first(live_server) -> None:
    ids = seed(live_server.url)
    response = requests.get(f"{live_server.url}/api/export.ndjson", timeout=30)
    assert response.headers["Content-Type"].startswith("application/x-ndjson")
    events = [json.loads(line) for line in response.text.splitlines()]
    assert [e["event_id"] for e in events] == ids
    assert all(list(e) == list(FIELDS) for e in events)
    assert events[1]["contexts"]["data"][0]["schema"] == GITLAB_STANDARD and events[1]["se_value"] == 2.5


def test_exports_take_the_same_filters(live_server) -> None:
    ids = seed(live_server.url)
    only_gitlab = requests.get(f"{live_server.url}/api/export.ndjson?gitlab_standard.project_id=7", timeout=30)
    assert [json.loads(line)["event_id"] for line in only_gitlab.text.splitlines()] == [ids[1]]
    web = requests.get(f"{live_server.url}/api/export.tsv?search=app:web -has:gitlab_standard", timeout=30)
    assert len(web.text.splitlines()) == 1
    assert requests.get(f"{live_server.url}/api/export.tsv?bogus=1", timeout=30).status_code == 400


def test_tsv_export_has_131_columns_and_snowplow_timestamps(live_server) -> None:
    ids = seed(live_server.url)
    response = requests.get(f"{live_server.url}/api/export.tsv", timeout=30)
    assert response.headers["Content-Type"].startswith("text/tab-separated-values")
    lines = response.text.split("\n")
    assert lines[-1] == "" and len(lines) == 4
    for line, eid in zip(lines[:-1], ids):
        cells = line.split("\t")
        assert len(cells) == 131
        row = dict(zip(FIELDS, cells))
        assert row["event_id"] == eid
        for name in TIMESTAMPS:
            assert row[name] == "" or TSV_TIME.match(row[name]), (name, row[name])
        assert TSV_TIME.match(row["collector_tstamp"])
    gitlab = dict(zip(FIELDS, lines[1].split("\t")))
    contexts = json.loads(gitlab["contexts"])
    assert contexts["schema"] == "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1"
    assert contexts["data"][0]["data"]["project_id"] == 7
    assert dict(zip(FIELDS, lines[0].split("\t")))["page_title"] == "Tab in title"


def test_snowplow_analytics_sdk_parses_the_tsv_export(live_server) -> None:
    ids = seed(live_server.url)
    lines = requests.get(f"{live_server.url}/api/export.tsv", timeout=30).text.splitlines()
    parsed = [transform(line) for line in lines]  # raises unless every line has the 131 enriched fields
    assert [p["event_id"] for p in parsed] == ids
    assert parsed[1]["contexts_com_gitlab_gitlab_standard_1"][0]["project_id"] == 7
    assert float(parsed[1]["se_value"]) == 2.5
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", parsed[0]["collector_tstamp"])


def test_export_of_many_events_streams(live_server) -> None:
    batch = [{"e": "se", "se_ac": f"a{i}", "aid": "bulk"} for i in range(100)]
    for _ in range(30):
        tp2(live_server.url, *batch)
    with requests.get(f"{live_server.url}/api/export.tsv?app_id=bulk", stream=True, timeout=120) as response:
        assert "Content-Length" not in response.headers  # sent in chunks as rows are read, not built in memory
        count = 0
        for line in response.iter_lines():
            assert len(line.split(b"\t")) == 131
            count += 1
    assert count == 3000


def test_cli_export_writes_tsv_and_ndjson_with_filters(live_server, tmp_path) -> None:
    ids = seed(live_server.url)
    requests.get(f"{live_server.url}/micro/all", timeout=30)  # a read: it returns once the pipeline caught up
    db = live_server.store.path
    runner = CliRunner()
    out = tmp_path / "events.tsv"
    result = runner.invoke(cli, ["export", "--db", db, "--format", "tsv", "--filter", "app_id=web", "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert [transform(line)["event_id"] for line in lines] == ids[:2]
    result = runner.invoke(cli, ["export", "--db", db, "--filter", "gitlab_standard.project_id__gte=7"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["event_id"] for line in result.output.splitlines()] == [ids[1]]
    result = runner.invoke(cli, ["export", "--db", db, "--search", "-app:web"])
    assert [json.loads(line)["app_id"] for line in result.output.splitlines()] == ["other"]


def test_cli_export_explains_bad_input(tmp_path) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["export", "--db", str(tmp_path / "nothing.db")])
    assert missing.exit_code != 0 and "no database" in missing.output
    (tmp_path / "empty.db").touch()
    bad = runner.invoke(cli, ["export", "--db", str(tmp_path / "empty.db"), "--filter", "nope=1"])
    assert bad.exit_code != 0 and "unknown filter 'nope'" in bad.output
    shape = runner.invoke(cli, ["export", "--db", str(tmp_path / "empty.db"), "--filter", "app_id"])
    assert shape.exit_code != 0 and "KEY=VALUE" in shape.output
