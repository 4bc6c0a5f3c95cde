"""The Dagster code location of the webshop warehouse (see definitions.py)."""
