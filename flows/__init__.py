"""The refresh flow and the parts it stands on: polite HTTP fetching and case discovery.

Only ``flows/refresh.py`` imports Prefect; ``http``, ``fetch``, ``politeness`` and ``discover``
are plain asyncio so they can be tested and benchmarked without orchestration.
"""
