"""``tandem detection-worker``: run the detection worker (decision 0041) until SIGTERM or
SIGINT, or with ``--once`` until the stream has nothing more for it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tandem.core.cli import CommandError, Commands, positive_int


def cmd_detection_worker(args: argparse.Namespace) -> int:
    from tandem.alerts.pipeline import DetectionWorker, load_engine
    from tandem.logs.workers import run_until_signalled

    try:
        _ruleset, engine = load_engine(Path(args.rules) if args.rules else None)
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from exc
    worker = DetectionWorker(engine, name=args.name or "")
    run_until_signalled(worker, once=args.once, max_batches=args.batches)
    print(json.dumps({**worker.tally.as_dict(), "failed_batches": worker.failed_batches}))
    return 1 if worker.failed_batches else 0


def register(commands: Commands) -> None:
    p = commands.add(
        "detection-worker",
        cmd_detection_worker,
        "Run the Sigma rules over the event stream and record alerts (until SIGTERM).",
    )
    p.add_argument(
        "--rules", metavar="PATH", help="a folder or zip of rules (default TANDEM_DETECTION_RULES)"
    )
    p.add_argument("--name", help="this consumer's name in the group (default host-pid)")
    p.add_argument(
        "--batches", type=positive_int, default=10, help="batches per fetch (default 10)"
    )
    p.add_argument(
        "--once", action="store_true", help="process what is waiting, then stop (tests, cron)"
    )
