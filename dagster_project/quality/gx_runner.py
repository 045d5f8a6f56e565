"""Validate one dataframe against one GX suite file, and build its Data Docs.

GX's SQL datasource is broken on DuckDB, so every gate pulls a dataframe out of
DuckDB first and validates it here with a pandas datasource in an ephemeral GX
context. The suite is the JSON file in expectations/: thresholds live there and
nowhere else.
"""
from __future__ import annotations

import json
import logging
import math
import os
import shutil
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from dagster_project.quality.offline_docs import move_pages

# GX draws tqdm progress bars and logs chatter at INFO on every metric; a nightly
# log needs neither.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
logging.getLogger("great_expectations").setLevel(logging.WARNING)


# Rendering Data Docs is half the cost of a validation. Production always builds
# them; tests that do not look at the pages switch this off to stay quick.
BUILD_DATA_DOCS = True


# Importing GX costs 3-4 s of one core (its expectation registry pulls in SciPy, Altair and
# SQLAlchemy), which a night's first gate used to wait for. The nightly run starts the import
# on this thread as it starts (resources.EngineResource), so it overlaps ingest, whose work
# runs inside DuckDB without holding the GIL. Every use of GX here waits for the thread
# first: GX is never imported from two threads at once.
_gx_import: threading.Thread | None = None
_gx_import_lock = threading.Lock()


def import_gx_in_background() -> None:
    """Start importing Great Expectations on a thread of this process (once per process)."""
    global _gx_import
    with _gx_import_lock:
        if _gx_import is None:
            _gx_import = threading.Thread(target=_import_gx, name="import-great-expectations")
            _gx_import.start()


def _import_gx() -> None:
    try:
        import great_expectations  # noqa: F401
        from great_expectations.checkpoint import UpdateDataDocsAction  # noqa: F401
        from great_expectations.render.view.view import DefaultJinjaView  # noqa: F401
    except Exception:  # the gate's own import raises it again, where it is reported
        pass


def _wait_for_gx_import() -> None:
    with _gx_import_lock:
        thread = _gx_import
    if thread is not None:
        thread.join()


class SuiteFileError(RuntimeError):
    """A suite file is missing or not a GX 1.x suite; the message names the file."""


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's verdict, in words a failure message can use."""

    expectation_type: str
    column: str | None
    kwargs: dict[str, Any]
    success: bool
    observed: Any
    why: str = ""
    where: tuple[str, ...] = ()   # labels of the offending rows (e.g. file names)

    def describe(self) -> str:
        bounds = {k: v for k, v in self.kwargs.items()
                  if k not in ("column", "batch_id", "result_format") and v is not None}
        target = f" on {self.column}" if self.column else ""
        observed = self.observed
        if isinstance(observed, list) and len(observed) == 1:
            observed = observed[0]
        text = f"{self.expectation_type}{target} {bounds}: observed {observed!r}"
        if self.where:
            text += f" in {', '.join(self.where)}"
        return f"{text} ({self.why})" if self.why else text


@dataclass(frozen=True)
class SuiteRun:
    success: bool
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    docs_page: Path | None = None

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]


def load_suite(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise SuiteFileError(f"quality gate suite {path} does not exist: restore it from git")
    try:
        suite = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SuiteFileError(f"quality gate suite {path} is not valid JSON: {exc}") from exc
    if not isinstance(suite, dict) or "name" not in suite or not isinstance(suite.get("expectations"), list):
        raise SuiteFileError(f"quality gate suite {path} is not a GX 1.x suite (needs 'name' and 'expectations')")
    return suite


# How many standard errors above a tolerated rate chance may take the observed share
# before a gate fires (about one false alarm in 750 nights at the tolerated rate).
CHANCE_STANDARD_ERRORS = 3.0


def allow_for_chance(suite: dict[str, Any], n_rows: int) -> dict[str, Any]:
    """The suite with each `mostly` marked `"mostly_is_a_rate": true` in its meta widened for
    the frame's size: `mostly` = 1 - (p + 3 * sqrt(p(1-p)/n)), p = 1 - the suite's `mostly`.

    Such a `mostly` states a rate the data is known to carry (e.g. the share of people whose
    two valid NHS numbers are a keying slip), not a hard ceiling: 2 people of 243 (0.8%) is
    chance at a tolerated 0.5% and must not stop a small extract's night, while at 100,000
    people the same rule stops anything above ~0.57%."""
    widened = json.loads(json.dumps(suite))
    for expectation in widened["expectations"]:
        kwargs, meta = expectation.get("kwargs", {}), expectation.get("meta") or {}
        if meta.get("mostly_is_a_rate") and "mostly" in kwargs and n_rows > 0:
            rate = 1.0 - float(kwargs["mostly"])
            allowance = rate + CHANCE_STANDARD_ERRORS * math.sqrt(rate * (1.0 - rate) / n_rows)
            kwargs["mostly"] = round(max(0.0, 1.0 - allowance), 6)
    return widened


def _observed(result: dict[str, Any], mostly: float = 1.0) -> Any:
    """The value a reader needs: the aggregate, else the offending values."""
    if result.get("observed_value") is not None:
        value = result["observed_value"]
        return value.item() if hasattr(value, "item") else value
    unexpected = result.get("partial_unexpected_list")
    if unexpected:
        values = [v.item() if hasattr(v, "item") else v for v in unexpected[:5]]
        share = result.get("unexpected_percent")
        if mostly < 1 and share is not None:
            # with `mostly`, the share of offending rows is what was judged
            return f"{values} ({result.get('unexpected_count')} rows, {share:.2f}% of {result['element_count']})"
        return values
    return result.get("unexpected_count")


def _exception_message(info: Any) -> str | None:
    """GX nests exception info per metric in some versions; find any raised one."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def _where(frame: pd.DataFrame, result: dict[str, Any], label_column: str | None) -> tuple[str, ...]:
    indexes = result.get("partial_unexpected_index_list") or []
    if not label_column or label_column not in frame.columns:
        return ()
    return tuple(str(frame.loc[i, label_column]) for i in indexes[:5] if i in frame.index)


class CompiledTemplates(jinja2.BytecodeCache):
    """Data Docs' Jinja templates compiled once per process, not once per gate.

    Every GX page view builds its own Jinja environment, which compiles each template
    it renders from source: ~50 templates per gate, about half of a page's rendering.
    This bytecode cache, shared by those environments (Jinja's own mechanism: keyed by
    template name and file, checked against the source's checksum), lets the second
    and later gates of a run load the compiled code instead. The environments are alike
    (GX's loader, autoescape and extension) and filters are looked up at render time,
    so the pages are the same (tests/quality/test_data_docs_pages.py)."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}
        self.hits = 0

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])
            self.hits += 1

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


def _share_compiled_templates() -> None:
    """Give every GX page view's Jinja environment COMPILED_TEMPLATES (patched in once per process)."""
    from great_expectations.render.view.view import DefaultJinjaView

    original = DefaultJinjaView.__init__
    if getattr(original, "carejourney_compiled_templates", False):
        return

    def __init__(view: Any, *args: Any, **kwargs: Any) -> None:
        original(view, *args, **kwargs)
        view.env.bytecode_cache = COMPILED_TEMPLATES

    __init__.carejourney_compiled_templates = True  # type: ignore[attr-defined]
    DefaultJinjaView.__init__ = __init__  # type: ignore[method-assign]


def validate(frame: pd.DataFrame, suite_path: Path, docs_dir: Path,
             label_column: str | None = None) -> SuiteRun:
    """Validate the whole frame with the suite; write the Data Docs page under docs_dir.

    label_column names the frame column that identifies a row to a reader (a file
    name, a metric id): failures quote it beside the offending value.
    """
    _wait_for_gx_import()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    _share_compiled_templates()
    suite_dict = allow_for_chance(load_suite(suite_path), len(frame))
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    for site in list(context.list_data_docs_sites()):
        context.delete_data_docs_site(site)  # the default site is a temp dir nobody reads
    docs_dir.mkdir(parents=True, exist_ok=True)
    # GX builds into a private staging folder: building into docs_dir itself removes
    # the other gates' pages (offline_docs.py says why); the pages are moved in after.
    staging_dir = docs_dir / f".staging-{uuid.uuid4().hex[:12]}"
    context.add_data_docs_site("carejourney", {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(staging_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    try:
        return _validate_in(context, suite_dict, suite_path, frame, label_column, staging_dir, docs_dir)
    finally:
        shutil.rmtree(staging_dir, ignore_errors=True)


def _validate_in(context: Any, suite_dict: dict[str, Any], suite_path: Path, frame: pd.DataFrame,
                 label_column: str | None, staging_dir: Path, docs_dir: Path) -> SuiteRun:
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction

    name = suite_dict["name"]
    try:
        suite = context.suites.add(gx.ExpectationSuite(**suite_dict))
    except Exception as exc:  # GX raises several types for a bad expectation
        raise SuiteFileError(f"quality gate suite {suite_path} could not be loaded by GX: {exc}") from exc
    batch = (context.data_sources.add_pandas("warehouse")
             .add_dataframe_asset(name)
             .add_batch_definition_whole_dataframe("whole"))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=name, data=batch, suite=suite))
    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name=f"{name}_checkpoint", validation_definitions=[definition],
        actions=[UpdateDataDocsAction(name="data_docs")] if BUILD_DATA_DOCS else [],
        result_format="SUMMARY"))

    result = checkpoint.run(batch_parameters={"dataframe": frame})
    (identifier, validation), = result.run_results.items()
    outcomes = []
    for item in validation.results:
        config = item.expectation_config
        kwargs = dict(config.kwargs)
        error = _exception_message(item.exception_info)
        outcomes.append(ExpectationOutcome(
            expectation_type=config.type,
            column=kwargs.get("column"),
            kwargs=kwargs,
            success=bool(item.success),
            observed=f"error: {error}" if error else _observed(item.result or {}, kwargs.get("mostly") or 1.0),
            why=str((config.meta or {}).get("why", "")),
            where=_where(frame, item.result or {}, label_column),
        ))
    page = None
    if BUILD_DATA_DOCS:
        urls = context.get_docs_sites_urls(resource_identifier=identifier, site_name="carejourney")
        staged = Path(urls[0]["site_url"].removeprefix("file://")) if urls else None
        page = move_pages(staging_dir, docs_dir).get(staged)
    return SuiteRun(success=bool(result.success), outcomes=outcomes, docs_page=page)
