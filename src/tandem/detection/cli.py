"""``tandem detect``: run Sigma rules over a file of events, on their own (no database).

One alert per line on stdout, ``{"rule_id": ..., "line": ...}`` (``line`` is the 0-based line
of the event in the file), and a summary on stderr. An event's log source is its
``_logsource``; an event without one takes ``--logsource`` when given, else what
``infer_logsource`` reads from its shape (a Windows channel and event id, a syslog program).
A line that is not a JSON object is counted as malformed and skipped.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from tandem.core.cli import CommandError, Commands

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


def register(commands: Commands) -> None:
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
