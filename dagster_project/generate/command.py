"""`carejourney generate`: write a synthetic landing folder and its ground truth."""
from __future__ import annotations

import argparse
import datetime as dt
import dataclasses
import sys
from pathlib import Path

from .config import GeneratorConfig, MessConfig


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from exc


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate", help="write a synthetic landing folder (inputs.md) and its ground truth",
        description="Simulate people and their hospital, social care and community records, and write them "
                    "as cumulative quarterly deliveries, plus <truth>/person_truth.csv.")
    parser.add_argument("--people", type=int, default=20_000, help="adults alive at the window start (default 20000)")
    parser.add_argument("--out", type=Path, required=True, help="landing folder to write")
    parser.add_argument("--seed", type=int, default=42, help="random seed: same seed and options, same bytes")
    parser.add_argument("--truth", type=Path, default=None,
                        help="ground truth folder (default: <out>_truth beside --out; never inside it)")
    parser.add_argument("--start", type=_date, default=GeneratorConfig.start,
                        help="first day simulated (default %(default)s)")
    parser.add_argument("--end", type=_date, default=GeneratorConfig.end,
                        help="last day simulated = the latest delivery date (default %(default)s)")
    parser.add_argument("--councils", type=int, default=4, help="number of councils, 3-5 (default 4)")
    parser.add_argument("--clean", action="store_true", help="no mess at all (every MessConfig rate 0 but the opt-out share)")
    parser.add_argument("--malformed-rows", type=float, default=None,
                        help="share of malformed rows per delivery (default %(default)s: MessConfig)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .generator import generate

    mess = MessConfig()
    if args.clean:
        mess = MessConfig.clean()
    if args.malformed_rows is not None:
        mess = dataclasses.replace(mess, malformed_rows=args.malformed_rows)
    try:
        config = GeneratorConfig(people=args.people, seed=args.seed, councils=args.councils, mess=mess,
                                 start=args.start, end=args.end)
        generate(config, args.out, args.truth)
    except ValueError as exc:
        print(f"carejourney generate: {exc}", file=sys.stderr)
        return 2
    return 0
