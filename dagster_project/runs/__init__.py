"""`carejourney run` in parts: the no-op check (nothing_new), the job (execution), the summary (summary)."""
