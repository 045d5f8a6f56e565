"""A reader holding published/carejourney.duckdb open during a publish reads the old copy, whole."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from dagster_project.publish.core import publish

# The reader runs in its own process, as a dashboard would: it opens the published
# file, answers "read" with a fingerprint of every table, and exits on "quit".
READER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    tables = ["system_metrics", "pathway_transitions", "data_quality", "metric_definitions", "code_labels"]
    def fingerprint():
        return ";".join(f"{t}={con.execute(f'select count(*) from marts.{t}').fetchone()[0]}" for t in tables)
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        print(fingerprint(), flush=True)
""")


def _ask(reader: subprocess.Popen) -> str:
    reader.stdin.write("read\n")
    reader.stdin.flush()
    return reader.stdout.readline().strip()


def _fresh_fingerprint(path) -> str:
    reader = subprocess.run([sys.executable, "-c", READER, str(path)], input="read\nquit\n",
                            capture_output=True, text=True, check=True, timeout=60)
    return reader.stdout.splitlines()[1]


def test_a_reader_keeps_the_old_version_and_new_readers_see_the_new_one(con, settings):
    publish(settings, con)
    old = _fresh_fingerprint(settings.published_db)
    assert "system_metrics=3" in old and "data_quality=1" in old

    reader = subprocess.Popen([sys.executable, "-c", READER, str(settings.published_db)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "ready"
        assert _ask(reader) == old

        # tonight's marts differ: one more metric row and one more delivery
        con.execute("""insert into marts.system_metrics select * replace ('month' as period_type)
                       from marts.system_metrics limit 1""")
        con.execute("""insert into marts.data_quality select * replace (date '2024-09-30' as delivery_date)
                       from marts.data_quality""")
        publish(settings, con)

        assert _ask(reader) == old  # still the old copy, whole, after the swap
        new = _fresh_fingerprint(settings.published_db)
        assert new != old and "system_metrics=4" in new and "data_quality=2" in new
        assert _ask(reader) == old

        # a third publish deletes the version the reader has open: its open file lives on
        first_version = publish(settings, con).previous_version_dir.parent
        assert len(list(first_version.iterdir())) == 2
        assert _ask(reader) == old
    finally:
        reader.stdin.write("quit\n")
        reader.stdin.flush()
        reader.wait(timeout=30)
    assert reader.returncode == 0
