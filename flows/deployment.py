"""The scheduled deployment of the refresh flow, built from configuration (``latinno serve``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect.deployments.runner import EntrypointType
from prefect.schedules import Cron

from flows.refresh import refresh
from latinno.config import Settings


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
