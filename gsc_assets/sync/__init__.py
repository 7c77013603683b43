"""The application layer: fetch reports and publish them to the warehouse, in plain Python.

Knows the Search Console client and the warehouse, not Dagster: `gsc_assets/defs` wires these
functions into assets. `daily` syncs date partitions; `hourly` the recent days hour by hour.
"""
