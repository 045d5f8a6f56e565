"""Where the models and linkage compute: DuckDB (the default) or Spark (settings.py: CAREJOURNEY_ENGINE)."""
