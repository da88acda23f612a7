"""``tandem detect``: run Sigma rules over a file of events, on their own (no database).

One alert per line on stdout, ``{"rule_id": ..., "line": ...}`` (``line`` is the 0-based line
of the event in the file), and a summary on stderr. An event's log source is its
``_logsource``; an event without one takes ``--logsource`` when given, else what
``infer_logsource`` reads from its shape (a Windows channel and event id, a syslog program).
A line that is not a JSON object is counted as malformed and skipped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from tandem.core.cli import CommandError, Commands, positive_int

if TYPE_CHECKING:
    from tandem.detection.engine import RuleSet


def default_cache_dir() -> Path:
    """Compiled rule packs: ``$XDG_CACHE_HOME/tandem/sigma`` (``~/.cache/...``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tandem" / "sigma"


def parse_logsource(text: str) -> dict[str, str]:
    """``product=windows,service=security`` → a ``_logsource`` map."""
    found: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or key not in ("product", "category", "service") or not value:
            raise CommandError(
                f"--logsource {text!r}: give product=, category= and/or service=, "
                "comma-separated (e.g. product=windows,service=security)"
            )
        found[key] = value.lower()
    return found


def cmd_detect(args: argparse.Namespace) -> int:
    import orjson

    from tandem.detection.engine import LogSource, compile_rules, infer_logsource, load_rules
    from tandem.detection.engine.packs import cache_name

    started = time.perf_counter()
    rules_path = Path(args.rules)
    if not rules_path.exists():
        raise CommandError(f"no rules at {rules_path}")
    if args.events is None and args.show_source is None:
        raise CommandError("give --events FILE (or --show-source RULE)")
    events_path = Path(args.events or "-")
    if args.events not in (None, "-") and not events_path.is_file():
        raise CommandError(f"no events file at {events_path}")
    given = parse_logsource(args.logsource) if args.logsource else None
    fallback = LogSource(**given) if given else None
    placeholders = _placeholders(args.placeholders) if args.placeholders else None
    cache_dir = None if args.no_cache else Path(args.cache_dir or default_cache_dir())
    try:
        ruleset = load_rules(rules_path, placeholders=placeholders, cache_dir=cache_dir)
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from exc
    if cache_dir is not None:
        _clean_own_cache(cache_dir, cache_name(ruleset.pack.content_hash, placeholders))
    if args.show_source is not None:
        return _show_source(ruleset, args.show_source)
    engine = compile_rules(ruleset)
    loaded_at = time.perf_counter()

    events = malformed = alerts = 0
    out = sys.stdout.buffer
    source = sys.stdin.buffer if args.events == "-" else events_path.open("rb")
    with source as lines:
        for number, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                event = orjson.loads(line)
            except orjson.JSONDecodeError:
                malformed += 1
                continue
            if not isinstance(event, dict):
                malformed += 1
                continue
            events += 1
            if "_logsource" in event or fallback is None:
                logsource = infer_logsource(event)
            else:
                logsource = fallback
            for match in engine.match(event, logsource):
                alerts += 1
                out.write(orjson.dumps({"rule_id": match.rule_id, "line": number}) + b"\n")
    out.flush()
    done = time.perf_counter()
    how = "from the cache" if ruleset.from_cache else "parsed"
    kinds = Counter(r.kind for r in ruleset.refused)
    refused = ", ".join(f"{n} {kind}" for kind, n in kinds.most_common())
    print(
        f"rules: {len(ruleset.loaded)} loaded, {len(ruleset.refused)} refused"
        f"{f' ({refused})' if refused else ''}, {how} in {ruleset.seconds:.2f} s "
        f"(pack {ruleset.pack.name} {ruleset.pack.version})\n"
        f"events: {events} ({malformed} malformed lines skipped)\n"
        f"alerts: {alerts}\n"
        f"seconds: {done - started:.2f} (matching {done - loaded_at:.2f})",
        file=sys.stderr,
    )
    if args.list_refused:
        for refusal in ruleset.refused:
            print(f"refused: {refusal.source}: {refusal.reason}", file=sys.stderr)
    return 0


def _show_source(ruleset: RuleSet, wanted: str) -> int:
    """Print the generated function of each rule whose id or file is ``wanted``."""
    from tandem.detection.engine.codegen import rule_source

    found = [r for r in ruleset.loaded if wanted in (r.rule_id, r.source)]
    if not found:
        raise CommandError(f"--show-source: no loaded rule has the id or file {wanted!r}")
    for rule in found:
        print(f"# {rule.source} ({rule.rule_id})\n{rule_source(rule.condition)}")
    return 0


def _clean_own_cache(folder: Path, loaded: str) -> None:
    """``tandem detect``'s own folder (no database to say which packs are installed):
    files unused for the default age go, then the least recently used over the default
    bound, never the pack just loaded (decision 0034)."""
    from tandem.detection.engine.diskcache import Policy, cache_files, plan_cleanup, remove

    try:
        remove(plan_cleanup(cache_files(folder), time.time(), Policy(keep=frozenset([loaded]))))
    except OSError as exc:  # a folder it cannot clean does not stop the run
        print(f"cache {folder} not cleaned: {exc}", file=sys.stderr)


def _placeholders(file: str) -> dict[str, list[str]]:
    import orjson

    try:
        data = orjson.loads(Path(file).read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise CommandError(f"--placeholders {file}: {exc}") from exc
    if not isinstance(data, dict) or not all(
        isinstance(v, list) and all(isinstance(x, str) for x in v) for v in data.values()
    ):
        raise CommandError(f"--placeholders {file}: want a JSON object of name → [strings]")
    return data


def cmd_rule_packs(args: argparse.Namespace) -> int:
    """Load the installed packs (as the detection worker does), record them, and list them."""
    from tandem.core.principal import system_principal
    from tandem.detection import rulesets
    from tandem.detection.services import sync_installed_packs

    try:
        installed = rulesets.InstalledRules.load(
            rulesets.pack_paths(Path(args.rules) if args.rules else None)
        )
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from exc
    rows = sync_installed_packs(
        actor=system_principal("tandem rule-packs: installed rule packs"),
        rulesets=installed.rulesets,
    )
    for row in rows:
        print(
            f"{row.name} {row.version} ({row.content_hash[:12]}): {row.rule_count} rules, "
            f"{len(row.refused)} refused"
        )
        if args.list_refused:
            for refusal in row.refused:
                print(f"  refused: {refusal['source']}: {refusal['reason']}")
    return 0


def cmd_cache_list(args: argparse.Namespace) -> int:
    """The cache folder's files, least recently used first, and their total."""
    from tandem.detection import cache

    files, in_use = cache.listing(Path(args.cache_dir) if args.cache_dir else None)
    for file in files:
        used = dt.datetime.fromtimestamp(file.used, dt.UTC).strftime("%Y-%m-%d %H:%M")
        mark = "  in use (an installed pack)" if file.name in in_use else ""
        print(f"{used} UTC  {file.size / cache.MB:9.1f} MB  {file.kind:9}  {file.name}{mark}")
    total = sum(f.size for f in files)
    print(f"{len(files)} files, {total / cache.MB:.1f} MB", file=sys.stderr)
    return 0


def cmd_cache_clean(args: argparse.Namespace) -> int:
    """Clean the cache folder now, as the daily job does (or with other limits)."""
    from tandem.detection import cache

    result = cache.clean_cache(
        Path(args.cache_dir) if args.cache_dir else None,
        rules=cache.policy(max_age_days=args.max_age_days, max_mb=args.max_mb),
        dry_run=args.dry_run,
    )
    verb = "would remove" if args.dry_run else "removed"
    for removal in result.removed:
        print(
            f"{verb} {removal.file.name} ({removal.file.size / cache.MB:.1f} MB): {removal.reason}"
        )
    freed = sum(r.file.size for r in result.removed)
    print(
        f"{len(result.removed)} files {verb} ({freed / cache.MB:.1f} MB); "
        f"{result.bytes_left / cache.MB:.1f} MB left in {result.folder}",
        file=sys.stderr,
    )
    if result.over_bound:
        print("still over the size bound: the installed packs' files alone", file=sys.stderr)
    return 0


def register(commands: Commands) -> None:
    group = commands.group(
        "detect-cache",
        "See and clean the detection cache (compiled rule packs, Hyperscan databases).",
        dest="detect_cache_command",
    )
    for action, func, text in (
        ("list", cmd_cache_list, "List the cached files: last use, size, kind, whether in use."),
        ("clean", cmd_cache_clean, "Remove unused files now, as the daily job does."),
    ):
        c = group.add(action, func, text)
        c.add_argument(
            "--cache-dir", metavar="DIR", help="the folder (default TANDEM_DATA_DIR/cache/sigma)"
        )
        if action == "clean":
            c.add_argument(
                "--max-age-days",
                type=positive_int,
                metavar="N",
                help="remove files unused this long (default TANDEM_DETECTION_CACHE_MAX_AGE_DAYS)",
            )
            c.add_argument(
                "--max-mb",
                type=positive_int,
                metavar="N",
                help="the folder's bound (default TANDEM_DETECTION_CACHE_MAX_MB)",
            )
            c.add_argument("--dry-run", action="store_true", help="only say what would go")
    r = commands.add(
        "rule-packs",
        cmd_rule_packs,
        "Load the installed rule packs, record their versions for the rule pages, list them.",
    )
    r.add_argument(
        "--rules", metavar="PATH", help="the community pack (default TANDEM_DETECTION_RULES)"
    )
    r.add_argument("--list-refused", action="store_true", help="list each refused rule and why")
    p = commands.add(
        "detect",
        cmd_detect,
        "Run Sigma rules over a JSONL file of events; one alert per line on stdout.",
        needs_data=False,
    )
    p.add_argument("--rules", required=True, metavar="PATH", help="a folder or zip of rules")
    p.add_argument("--events", metavar="FILE", help="normalised events, one per line (- stdin)")
    p.add_argument(
        "--logsource",
        metavar="K=V,...",
        help="log source of events without _logsource (default: inferred from each event)",
    )
    p.add_argument(
        "--placeholders", metavar="FILE", help="JSON {name: [values]} for |expand placeholders"
    )
    p.add_argument("--cache-dir", metavar="DIR", help="compiled packs (default ~/.cache/tandem)")
    p.add_argument("--no-cache", action="store_true", help="parse the rules, keep nothing")
    p.add_argument(
        "--list-refused", action="store_true", help="list each refused rule and why on stderr"
    )
    p.add_argument(
        "--show-source",
        metavar="RULE",
        help="print the generated Python function of the rule with this id (or file), and exit",
    )
