"""A quiet Dagster logger for `carejourney run`: one line per step, gate and failure."""
from __future__ import annotations

import logging
import sys
import time

import dagster as dg

# Where progress lines go. `carejourney run` points this at the terminal and sends
# everything else (dbt's own output, Dagster's logs) to the run's log file.
OUTPUT = sys.stdout

# Warnings that repeat something already shown: a failed dependency (its failure was
# printed), and dagster-dbt noting a multi-model dbt test as an observation (its
# pass/fail is in the log and fails the dbt step when it errors).
_NOISE = ("Dependencies for step", "Logging an `AssetObservation` instead of an `AssetCheckResult`")

_SHOWN = {"STEP_START", "STEP_SUCCESS", "STEP_FAILURE", "ASSET_CHECK_EVALUATION", "STEP_UP_FOR_RETRY",
          "PIPELINE_FAILURE", "RUN_FAILURE"}


class _ProgressHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.started: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None:
            message = str(meta.get("orig_message", record.getMessage()))
            if record.levelno >= logging.WARNING and not message.startswith(_NOISE):
                print(f"  ! {message}", file=OUTPUT, flush=True)
            return
        kind = event.event_type_value
        if kind not in _SHOWN:
            return
        step = event.step_key or ""
        stamp = time.strftime("%H:%M:%S")
        if kind == "STEP_START":
            self.started[step] = time.monotonic()
            print(f"{stamp}  ▶ {step}", file=OUTPUT, flush=True)
        elif kind == "STEP_SUCCESS":
            took = time.monotonic() - self.started.get(step, time.monotonic())
            print(f"{stamp}  ✔ {step} ({took:.1f}s)", file=OUTPUT, flush=True)
        elif kind == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            evaluation = getattr(data, "asset_check_evaluation", data)
            if not getattr(evaluation, "passed", True):
                if getattr(evaluation, "severity", None) == dg.AssetCheckSeverity.WARN:
                    print(f"{stamp}  ⚠ warning {meta.get('orig_message', '')}", file=OUTPUT, flush=True)
                else:
                    print(f"{stamp}  ✘ gate {meta.get('orig_message', '')}", file=OUTPUT, flush=True)
        else:
            print(f"{stamp}  ✘ {kind.lower()} {step}: {meta.get('orig_message', '')}", file=OUTPUT, flush=True)


@dg.logger(description="One line per step and failed gate (used by `carejourney run`).")
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.Logger("carejourney.progress", level=logging.DEBUG)
    logger.addHandler(_ProgressHandler())
    return logger
