"""The refresh flow and the parts it stands on: polite HTTP fetching, case discovery, batching,
parsing, the drift guard, counts and the run summary.

Only ``flows/refresh.py`` (the flow), ``flows/tasks.py`` (its tasks) and ``flows/deployment.py``
import Prefect; everything else is plain Python and asyncio, used, tested and benchmarked
without orchestration (``latinno reparse`` runs on it alone).
"""
