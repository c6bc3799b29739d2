"""Bulk migration between backends: a paged planner, batched small objects, one stream per large
object, resumable state and end-to-end verification (``trove migrate``)."""
