"""A scheduled run, the way an operator gets one (issue 14).

The README's "Scheduled runs" commands, word for word (a free port instead of 4200, our config
instead of config.yaml): a real Prefect server on loopback, `latinno serve` on a config whose cron
fires every minute and whose site is our site server with faults. The test waits for the
scheduled run, then checks it through the Prefect API (state, task runs, artifact) and the
warehouse (the `runs` row, every case as expected). Everything it starts is stopped by process
group. A second test stops `latinno serve` with Ctrl-C while its run is fetching.

Both tests share one Prefect server and one minute of the cron (the module's ``scheduled``
fixture): it starts the server once and both `latinno serve` processes before the next minute
begins, so one wait for the cron serves both (a cold server and a cron minute cost each test
about 80 s when each had its own). The Ctrl-C test comes first: it stops its serve while that run
is still fetching, and the other run is checked and its serve stopped.

The README's "On a Prefect work pool" commands run here too (issue 20, part 2), first, on a
Prefect server of their own (their deployment has the README serve's name): while the two serves
wait for their cron minute, which this way costs the suite nothing.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
import yaml
from _flow_support import expected_records, stored_case
from _prefect_support import free_port
from _readme_support import (
    BIN,
    REPO,
    api,
    argv,
    healthy,
    readme_commands,
    started,
    stop,
    wait_for,
)

from latinno.sitemodel.server import run_server_in_thread
from warehouse.content import HASHED_FIELDS

pytestmark = pytest.mark.slow

FIXTURES = REPO / "fixtures" / "html"
SERVER_START_S = 90
RUN_WAIT_S = 240


# Deployment names of the two serves: the README's command as it is, and with --name.
COMPLETING, STOPPED = "scheduled", "stopped"


@dataclass
class Scheduled:
    """The module's Prefect server (the README's command) and two `latinno serve` processes on
    it, both on a cron of every minute: ``serving[COMPLETING]`` (the README's command as it is)
    on our site with faults in three languages, ``serving[STOPPED]`` on our site with a page
    dripping a byte every 20 s, so its run is still fetching when the test stops it."""

    port: int
    env: dict[str, str]
    client: httpx.Client
    sites: dict[str, Any]
    configs: dict[str, Path]
    dbs: dict[str, Path]
    serving: dict[str, subprocess.Popen[bytes]]
    logs: dict[str, Path]

    def runs(self, name: str, **flow_runs: Any) -> list[dict[str, Any]]:
        """The flow runs of deployment ``name`` (matching ``flow_runs``), oldest first."""
        body = {"sort": "EXPECTED_START_TIME_ASC", "deployments": {"name": {"any_": [name]}}}
        result: list[dict[str, Any]] = api(
            self.client, "/flow_runs/filter", {**body, "flow_runs": flow_runs}
        )
        return result


def _serve_config(site: Any, db: Path, **settings: Any) -> str:
    base = {
        "politeness": {"rate": 0, "concurrency": 4},
        "warehouse": {"path": str(db)},
        "schedule": {"cron": "* * * * *", "timezone": "UTC"},
    }
    settings["source"] = {"base_url": site.base_url, **settings.get("source", {})}
    return yaml.safe_dump({**base, **settings})


@pytest.fixture(scope="module")
def scheduled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scheduled]:
    tmp = tmp_path_factory.mktemp("serve")
    server_cmd, serve_cmd = readme_commands("## Scheduled runs")
    assert "prefect server start" in server_cmd and "latinno serve" in serve_cmd
    port = free_port()
    env = dict(os.environ, PREFECT_HOME=str(tmp / "prefect-home"))
    env.pop("PREFECT_API_URL", None)
    names = (COMPLETING, STOPPED)
    logs = {"server": tmp / "prefect-server.log", **{n: tmp / f"serve-{n}.log" for n in names}}
    configs = {name: tmp / f"{name}.yaml" for name in names}
    dbs = {name: tmp / f"{name}.duckdb" for name in names}
    with ExitStack() as stack:
        sites = {
            COMPLETING: stack.enter_context(
                run_server_in_thread(FIXTURES, sitemap=True, faults=0.15, seed=7, slow_s=0.05)
            ),
            # A byte every 20 s and no cap before an hour: the run is still fetching when stopped.
            STOPPED: stack.enter_context(
                run_server_in_thread(FIXTURES, sitemap=True, hostile=True, drip_s=20.0)
            ),
        }
        stack.enter_context(started(server_cmd.replace("4200", str(port)), env, logs["server"]))
        configs[COMPLETING].write_text(
            _serve_config(
                sites[COMPLETING],
                dbs[COMPLETING],
                source={"languages": ["en", "es", "pt"]},
                http={"backoff_base_s": 0.05, "backoff_max_s": 0.2, "max_retries": 8},
                runner={"batch_size": 40},
            )
        )
        configs[STOPPED].write_text(
            _serve_config(
                sites[STOPPED],
                dbs[STOPPED],
                source={"languages": ["en"]},
                http={"timeout_s": 60, "max_request_s": 3600},
            )
        )
        client = stack.enter_context(
            httpx.Client(base_url=f"http://127.0.0.1:{port}/api", timeout=10)
        )
        wait_for("the Prefect server", lambda: healthy(client), SERVER_START_S, [logs["server"]])
        serving = {}
        for name in names:
            command = serve_cmd.replace("4200", str(port)).replace(
                "config.yaml", str(configs[name])
            )
            command += "" if name == COMPLETING else f" --name {name}"  # the README's, as it is
            home = dict(env, PREFECT_HOME=str(tmp / f"prefect-home-{name}"))
            serving[name] = stack.enter_context(started(command, home, logs[name]))
        yield Scheduled(port, env, client, sites, configs, dbs, serving, logs)


@pytest.mark.usefixtures("scheduled")  # its serves wait for their cron minute meanwhile
def test_a_deployment_on_a_work_pool_is_run_by_a_worker(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "deploy.yaml"
    commands = [
        c.replace("4200", str(port)).replace("config.yaml", str(config))
        for c in readme_commands("### On a Prefect work pool")
    ]
    assert any("latinno deploy" in c for c in commands)
    assert any("prefect worker start" in c for c in commands)
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect-home"))
    env.pop("PREFECT_API_URL", None)
    env["PREFECT_WORKER_QUERY_SECONDS"] = "2"  # how often the worker asks for runs
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    db = tmp_path / "pool.duckdb"
    logs: list[Path] = []
    with ExitStack() as stack:
        site = stack.enter_context(run_server_in_thread(FIXTURES, sitemap=True))
        config.write_text(
            yaml.safe_dump(
                {
                    "source": {"base_url": site.base_url, "languages": ["en", "es"]},
                    "politeness": {"rate": 0, "concurrency": 4},
                    "warehouse": {"path": str(db)},
                }
            )
        )
        client = stack.enter_context(
            httpx.Client(base_url=f"http://127.0.0.1:{port}/api", timeout=10)
        )
        for i, command in enumerate(commands):
            if command.startswith("export "):
                name, _, value = command.removeprefix("export ").partition("=")
                env[name] = value
            elif command.endswith("&"):
                logs.append(tmp_path / f"{i}.log")
                stack.enter_context(started(command, env, logs[-1], tmp_path))
                if "prefect server start" in command:
                    wait_for("the Prefect server", lambda: healthy(client), SERVER_START_S, logs)
            else:
                words, run_env = argv(command, env)
                done = subprocess.run(
                    words, cwd=tmp_path, env=run_env, capture_output=True, text=True, timeout=120
                )
                assert done.returncode == 0, (command, done.stdout, done.stderr)

        wrong = [str(BIN / "latinno"), "deploy", "--pool", "missing", "--config", str(config)]
        refused = subprocess.run(wrong, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert refused.returncode == 1
        (line,) = refused.stderr.splitlines()
        assert "work pool 'missing' not found" in line and "prefect work-pool create" in line

        def finished() -> dict[str, Any] | None:
            runs = api(client, "/flow_runs/filter", {})
            ended = [r for r in runs if r["state_type"] in ("COMPLETED", "FAILED", "CRASHED")]
            return ended[0] if ended else None

        run = wait_for("the worker's run to finish", finished, RUN_WAIT_S, logs)
        deployment = api(client, f"/deployments/{run['deployment_id']}")
        worker_log = logs[-1].read_text(errors="replace")

    assert run["state_type"] == "COMPLETED", worker_log
    assert deployment["work_pool_name"] == "latinno"
    assert deployment["entrypoint"] == "flows.refresh.refresh"
    assert run["work_pool_name"] == "latinno"
    assert run["infrastructure_pid"]  # a worker started a process for it
    expected = {**expected_records(FIXTURES, "es"), **expected_records(FIXTURES, "en")}
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM cases").fetchone() == (len(expected),)
        (status,) = con.execute("SELECT status FROM runs").fetchone()  # type: ignore[misc]
    assert status == "completed"


def test_ctrl_c_of_serve_during_a_run_ends_that_run_in_prefect_and_in_runs(
    scheduled: Scheduled,
) -> None:
    # Issue 21, item 6: the run stayed Running in Prefect forever and `running` in `runs`.
    from latinno.sitemodel.hostile import HOSTILE_PAGES

    site, serve = scheduled.sites[STOPPED], scheduled.serving[STOPPED]
    logs = [scheduled.logs["server"], scheduled.logs[STOPPED]]
    drip = HOSTILE_PAGES["slow_drip"].path

    def dripping() -> bool:
        return site.stats()["paths"].get(drip, 0) > 0

    wait_for("a scheduled run fetching the dripping page", dripping, RUN_WAIT_S, logs)
    running = scheduled.runs(STOPPED, state={"type": {"any_": ["RUNNING"]}})
    assert len(running) == 1, running
    os.killpg(serve.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole group
    serve.wait(timeout=120)
    run = api(scheduled.client, f"/flow_runs/{running[0]['id']}")
    served = scheduled.logs[STOPPED].read_text(errors="replace")
    assert run["state_type"] in ("CRASHED", "CANCELLED"), served
    # One line for the run, from whichever tells the API first: the run's own process, which
    # got the Ctrl-C too (a run seconds old on a quiet machine), or serve once it stopped.
    name = re.escape(running[0]["name"])
    assert re.search(
        rf"scheduled run {name} (ended: crashed; stopped with latinno serve"
        r"|finished: crashed \(interrupted\); .*stopped by Ctrl-C)",
        served,
    ), served
    with duckdb.connect(str(scheduled.dbs[STOPPED]), read_only=True) as con:
        rows = con.execute("SELECT status, reason FROM runs").fetchall()
    assert [status for status, _ in rows] == ["interrupted"], (rows, served)
    assert "Ctrl-C" in rows[0][1], rows  # said by the run itself or by serve after it
    assert "Traceback" not in served, served


def test_a_scheduled_run_completes_and_shows_in_the_prefect_api(
    scheduled: Scheduled, tmp_path: Path
) -> None:
    client, port, env = scheduled.client, scheduled.port, scheduled.env
    config, db = scheduled.configs[COMPLETING], scheduled.dbs[COMPLETING]
    logs = [scheduled.logs["server"], scheduled.logs[COMPLETING]]

    def finished_run() -> dict[str, Any] | None:
        runs = scheduled.runs(COMPLETING)
        done = [r for r in runs if r["state_type"] in ("COMPLETED", "FAILED", "CRASHED")]
        return done[0] if done else None

    run = wait_for("a scheduled run to finish", finished_run, RUN_WAIT_S, logs)
    flow_run_id = run["id"]
    task_runs = api(client, "/task_runs/filter", {"flow_runs": {"id": {"any_": [flow_run_id]}}})
    artifacts = api(
        client, "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}}
    )
    deployment = api(client, f"/deployments/{run['deployment_id']}")

    def said_finished() -> bool:  # latinno serve: one line per run (issue 21)
        return f"scheduled run {run['name']} finished" in logs[1].read_text()

    wait_for("serve's line for the finished run", said_finished, 60, logs)
    stop(scheduled.serving[COMPLETING])
    served = logs[1].read_text(errors="replace")
    assert re.search(rf"UTC  scheduled run {run['name']} started", served), served
    finished = re.search(
        rf"scheduled run {run['name']} finished: completed; run (\S+): [\d,]+ new, "
        r"[\d,]+ changed, [\d,]+ withdrawn, [\d,]+ failed in [\d,]+ s",
        served,
    )
    assert finished, served
    # The README's way round a cold start: `latinno refresh` with PREFECT_API_URL set.
    # Prefect's events are sent by an exit handler, so the run's Completed event must arrive.
    cli_env = dict(env, PREFECT_API_URL=f"http://127.0.0.1:{port}/api")
    refresh = [str(BIN / "latinno"), "refresh", "--config", str(config)]
    cli_db = tmp_path / "cli.duckdb"
    cli = subprocess.run(
        [*refresh, "--db", str(cli_db)], env=cli_env, capture_output=True, timeout=RUN_WAIT_S
    )
    assert cli.returncode == 0, cli.stderr.decode(errors="replace")
    assert b"new cases" in cli.stdout  # the summary was written out before the exit
    by_cli = [r for r in api(client, "/flow_runs/filter", {}) if r["deployment_id"] is None]
    assert [r["state_type"] for r in by_cli] == ["COMPLETED"], by_cli
    resource = f"prefect.flow-run.{by_cli[0]['id']}"

    def completed_event() -> bool:
        body = {
            "filter": {
                "event": {"name": ["prefect.flow-run.Completed"]},
                "resource": {"id": [resource]},
            },
            "limit": 5,
        }
        return bool(api(client, "/events/filter", body)["events"])

    wait_for("the CLI run's Completed event", completed_event, 60, logs)

    assert run["state_type"] == "COMPLETED", served
    assert deployment["entrypoint"] == "flows.refresh.refresh"
    assert run["auto_scheduled"] is True  # the cron made it, nobody triggered it
    names = {re.sub(r"-[0-9a-f]{3}$", "", t["name"]) for t in task_runs}
    assert {"plan-run", "fetch-batch", "process-batch"} <= names, names
    assert all(t["state_type"] == "COMPLETED" for t in task_runs), [
        (t["name"], t["state_type"]) for t in task_runs if t["state_type"] != "COMPLETED"
    ]
    (summary,) = [a for a in artifacts if a["key"] == "latinno-refresh-summary"]
    assert summary["type"] == "markdown" and "new cases" in summary["data"]
    (table,) = [a for a in artifacts if a["key"] == "latinno-refresh-counts"]
    assert table["type"] == "table" and "new cases" in str(table["data"])
    assert not re.search(r"Traceback|\bERROR\b", served), served

    with duckdb.connect(str(db), read_only=True) as con:
        # This run's row: on a busy machine the cron's next minute may have run (or begun) too.
        (row,) = con.execute(
            "SELECT finished_at, fetched, new, failed FROM runs WHERE run_id = ?",
            [finished.group(1)],
        ).fetchall()
        assert row[0] is not None and row[3] == 0
        # Every case, es- and pt-only ones too; each row from the first language that has it.
        expected = {
            **expected_records(FIXTURES, "pt"),
            **expected_records(FIXTURES, "es"),
            **expected_records(FIXTURES, "en"),
        }
        assert row[2] == len(expected)
        ids = {r[0] for r in con.execute("SELECT case_id FROM cases").fetchall()}
        assert ids == set(expected)
        rows = dict(con.execute("SELECT case_id, (lang, title) FROM cases").fetchall())
        for case_id, record in expected.items():
            assert rows[case_id] == (record["lang"], record["title"]), case_id
            if record["lang"] != "en":
                continue  # this config has no parser.extra_labels for es/pt headings
            want = {name: record[name] for name in HASHED_FIELDS}
            assert stored_case(con, case_id) == want, f"case {case_id}"
        for lang in ("es", "pt"):
            texts = dict(
                con.execute(
                    "SELECT case_id, title FROM case_texts WHERE lang = ?", [lang]
                ).fetchall()
            )
            assert texts == {cid: r["title"] for cid, r in expected_records(FIXTURES, lang).items()}
