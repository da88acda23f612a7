"""``tandem detection-worker``: run the detection worker (decision 0041) until SIGTERM or
SIGINT, or with ``--once`` until the stream has nothing more for it."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from tandem.core.cli import CommandError, Commands, positive_int

log = logging.getLogger(__name__)


def cmd_detection_worker(args: argparse.Namespace) -> int:
    from tandem.alerts.pipeline import DetectionWorker
    from tandem.core.principal import system_principal
    from tandem.detection import rulesets
    from tandem.detection.cache import clean_cache
    from tandem.detection.services import sync_installed_packs
    from tandem.logs.workers import run_until_signalled

    # The installed packs (the starter pack and the community set) compiled into one
    # engine, recorded as versioned objects for the rule pages; each tenant's choices are
    # applied per batch (decision 0044).
    try:
        installed = rulesets.InstalledRules.load(
            rulesets.pack_paths(Path(args.rules) if args.rules else None)
        )
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from exc
    sync_installed_packs(
        actor=system_principal("detection worker: installed rule packs"),
        rulesets=installed.rulesets,
    )
    # This host's cache folder, now that the packs it runs are recorded as in use (the
    # daily job cleans only the folder of the host that runs it).
    try:
        clean_cache()
    except OSError as exc:  # never keeps the worker from starting
        log.warning("detection cache not cleaned: %s", exc)
    worker = DetectionWorker(name=args.name or "", rules=rulesets.TenantRules(installed))
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
