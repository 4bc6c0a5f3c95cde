"""Raw-data generator, loader and embedded PostgreSQL for the webshop dbt warehouse."""

__version__ = "0.1.0"
