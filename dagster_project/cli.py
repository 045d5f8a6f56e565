"""`carejourney` command line: one subcommand per job, each defined beside its concern.

Each concern module exposes ``register(subparsers)`` which adds its subcommand and
sets ``func`` to a callable taking the parsed arguments and returning an exit code.
Modules are imported only when their command is used, so `--help` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> module that registers it
COMMANDS: dict[str, str] = {
    "generate": "dagster_project.generate.command",
    "run": "dagster_project.run_command",
    "query": "dagster_project.query_command",
    "publish": "dagster_project.publish.command",
    "report": "dagster_project.report.command",
    "evaluate-linkage": "dagster_project.linkage.command",
    "train-linkage": "dagster_project.linkage.command",
    "accept-reference": "dagster_project.ingest.accept_command",
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="carejourney", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = argv[0] if argv and argv[0] in COMMANDS else None
    for module_name in sorted(set(COMMANDS.values())):
        if wanted and COMMANDS[wanted] != module_name:
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if wanted or not exc.name or not exc.name.startswith("dagster_project"):
                raise
            continue  # a concern not built yet: its command is simply not offered
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
