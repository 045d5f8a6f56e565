"""The exit status of every `carejourney` command that runs or publishes (one home).

../shared/contract/README.md: 0 finished and published; 1 a quality gate (or a
publish check) stopped publication; 2 could not start (bad option, weak or changed
secret, another run holds the warehouse, unreadable landing folder); 3 a step
crashed (including a full disk). In every non-zero case the published copy is untouched.
"""
from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    GATE_FAILED = 1
    CANNOT_START = 2
    STEP_CRASHED = 3

    @property
    def meaning(self) -> str:
        return {
            ExitCode.OK: "finished and published (or nothing new: the published copy is current)",
            ExitCode.GATE_FAILED: "a quality gate stopped publication",
            ExitCode.CANNOT_START: "could not start",
            ExitCode.STEP_CRASHED: "a step crashed",
        }[self]
