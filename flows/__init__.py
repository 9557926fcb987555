"""The refresh flow and the parts it stands on: polite HTTP fetching, case discovery and the run
core (batching, parsing, the site-drift guard, loading, counting).

Prefect is at the edge: only the flow (refresh), its tasks (tasks), the run's outcome as
Prefect states and artifacts (outcome) and the deployment (deployment) import it. Fetching
(client, politeness, fetch, discover, sitemap) and the run core (pipeline, batch, parsing,
guard, summary, reparse) are plain Python and asyncio, tested and benchmarked without
orchestration.
"""
