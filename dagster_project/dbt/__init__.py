"""dbt inside Dagster: the project, the translator, and the dbt assets."""
