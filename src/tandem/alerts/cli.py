"""``tandem detection-worker``: run the detection worker (decision 0041) until SIGTERM or
SIGINT, or with ``--once`` until the stream has nothing more for it."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path

from tandem.core.cli import CommandError, Commands, positive_int


def cmd_detection_worker(args: argparse.Namespace) -> int:
    from tandem.alerts.pipeline import DetectionWorker, load_engine

    try:
        _ruleset, engine = load_engine(Path(args.rules) if args.rules else None)
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from exc
    worker = DetectionWorker(engine, name=args.name or "")
    try:
        if args.once:
            worker.drain(max_batches=args.batches)
        else:
            stop = threading.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
            worker.run(stop, max_batches=args.batches)
    finally:
        worker.close()
    print(json.dumps(worker.tally.as_dict()))
    return 1 if worker.tally.failed_batches else 0


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
