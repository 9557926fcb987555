"""``latinno deploy``: the refresh as a deployment on a Prefect work pool, run by its workers."""

from __future__ import annotations

from typing import Annotated

import typer

from latinno.cli.app import ConfigOption, DbOption, Output, app, quiet_prefect, settings_for


@app.command(
    epilog="Example: PREFECT_API_URL=http://127.0.0.1:4200/api latinno deploy --pool latinno "
    "--db /srv/latinno/latinno.duckdb"
)
def deploy(
    pool: Annotated[str, typer.Option("--pool", help="Prefect work pool (type process).")],
    config: ConfigOption = None,
    db: DbOption = None,
    name: Annotated[str, typer.Option("--name", help="Deployment name.")] = "scheduled",
) -> None:
    """Register the refresh on a Prefect work pool, on the configured cron; a worker of the
    pool (`prefect worker start --pool NAME`, on any machine with this project installed)
    runs it.

    The settings go with the deployment (deploy again after changing them); --db names the
    warehouse file on the worker's machine.
    """
    settings = settings_for(config, db)
    quiet_prefect()
    from flows.deployment import deploy_to_pool

    deployment_id, api_url = deploy_to_pool(settings, name=name, pool=pool)
    Output().print(
        f"Deployed latinno-refresh/{name} ({deployment_id}) on work pool {pool!r} at {api_url}: "
        f"cron '{settings.schedule.cron}' ({settings.schedule.timezone}). Start a worker with "
        f"`prefect worker start --pool {pool}`; run now with "
        f"`prefect deployment run latinno-refresh/{name}`.",
        highlight=False,
    )
