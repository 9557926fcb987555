"""Deployments of the refresh flow, built from configuration: served by this process
(``latinno serve``) or registered on a Prefect work pool for workers elsewhere
(``latinno deploy``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from prefect.deployments.runner import EntrypointType
from prefect.schedules import Cron

from flows.refresh import refresh
from latinno.config import Settings
from latinno.errors import LatinnoError


def build_deployment(settings: Settings, config_path: Path | None, *, name: str) -> Any:
    """A runner deployment of ``refresh`` on ``schedule.cron`` in ``schedule.timezone``.

    Parameters carry the config path and the warehouse path, so every scheduled run reads the
    same configuration afresh (edits to config.yaml apply from the next run).

    The entrypoint is the installed module ``flows.refresh``, not the file: loaded from a file
    path, Prefect puts the file's folder on ``sys.path``, where our modules could shadow the
    standard library's in the run and its worker processes (issue 14).
    """
    return refresh.to_deployment(
        name=name,
        schedules=[Cron(settings.schedule.cron, timezone=settings.schedule.timezone)],
        parameters={
            "config_path": str(config_path.resolve()) if config_path else None,
            "overrides": {"warehouse": {"path": str(Path(settings.warehouse.path).resolve())}},
        },
        description="Refresh the LATINNO warehouse from the site (issue 3).",
        tags=["latinno"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def deploy_to_pool(settings: Settings, *, name: str, pool: str) -> tuple[UUID, str]:
    """Register ``refresh`` as ``latinno-refresh/{name}`` on the work pool ``pool`` of the
    Prefect server at PREFECT_API_URL, on ``schedule.cron``; returns its id and the API URL.

    A worker of that pool (``prefect worker start --pool …``, on any machine with this project
    installed) runs it: the entrypoint is the installed module ``flows.refresh``, so no code is
    shipped. The settings travel as the run's parameters, whole (the worker needs no config
    file; a changed config.yaml applies once deployed again), with ``warehouse.path`` made
    absolute: it names the file on the worker's machine.
    """
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import get_current_settings

    api_url = get_current_settings().api.url
    if not api_url:
        raise LatinnoError(
            "PREFECT_API_URL is not set: set it to the Prefect server your workers poll "
            "(e.g. http://127.0.0.1:4200/api)"
        )
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(pool)
        except ObjectNotFound:
            raise LatinnoError(
                f"work pool {pool!r} not found at {api_url}; create it with "
                f"`prefect work-pool create {pool} --type process`"
            ) from None
    overrides = settings.model_dump(mode="json")
    overrides["warehouse"]["path"] = str(Path(settings.warehouse.path).expanduser().absolute())
    deployment: Any = refresh.to_deployment(  # sync here: no loop runs
        name=name,
        work_pool_name=pool,
        schedules=[Cron(settings.schedule.cron, timezone=settings.schedule.timezone)],
        parameters={"config_path": None, "overrides": overrides},
        description="Refresh the LATINNO warehouse from the site (issue 3).",
        tags=["latinno"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    deployment_id = deployment.apply(work_pool_name=pool)  # called without a loop: sync
    assert isinstance(deployment_id, UUID)
    return deployment_id, api_url
