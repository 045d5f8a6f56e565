"""The quality gates as blocking Dagster asset checks (GX 1.x; dagster-ge does not support it).

One check per gate, on the asset the gate judges (docs/architecture.md keys). A
failing blocking check stops every downstream asset, publish included, so the
last published copy stays as it was.
"""

import dagster as dg

from dagster_project.quality.gates import GATES, Gate, run_gate
from dagster_project.resources import CarejourneyResource, WarehouseGuard


def _make_check(gate: Gate) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=dg.AssetKey(list(gate.asset_key)), name=gate.name, blocking=True,
                    description=gate.description)
    def _check(context: dg.AssetCheckExecutionContext, carejourney: CarejourneyResource,
               warehouse_guard: WarehouseGuard) -> dg.AssetCheckResult:
        settings = carejourney.settings()
        with carejourney.connect() as con:
            result = run_gate(gate.name, con, settings, run_id=context.run.run_id)
        (context.log.info if result.success else context.log.error)(result.message)
        metadata: dict[str, dg.RawMetadataValue] = {
            "gate": gate.name,
            "suite": str(gate.suite_path),
            "rows_validated": result.n_rows,
            "message": dg.MetadataValue.md(f"```\n{result.message}\n```"),
        }
        if result.docs_page:
            metadata["data_docs"] = dg.MetadataValue.path(str(result.docs_page))
        if result.reused_from is not None:   # same rows, suite and code as a passed run (gate_reuse.py)
            metadata["reused_from_run"] = result.reused_from.run_id
            metadata["reused_from_time"] = f"{result.reused_from.passed_at:%Y-%m-%d %H:%M:%S} UTC"
        for i, failure in enumerate(result.failures[:10], start=1):
            metadata[f"failed_{i}"] = failure.describe()
        # The run summary shows this one line: on failure it carries every failed
        # expectation (observed value, offending file, what to do), not just a heading.
        description = " ".join([result.message.splitlines()[0], *(f.describe() for f in result.failures)])
        return dg.AssetCheckResult(passed=result.success, metadata=metadata, description=description)

    return _check


asset_checks: list[dg.AssetChecksDefinition] = [_make_check(g) for g in GATES.values()]

# The quality gates as Dagster loads them (definitions.py merges every concern's).
defs = dg.Definitions(asset_checks=asset_checks)
