"""Benchmark of the event archive on generated, realistic events.

    python -m tandem.logs.archive.bench --events 1000000 --hours 24 [--dir DIR] [--json]

Writes the events for one tenant across the hours (Windows Security, Sysmon and Linux
syslog/auth shapes as contract 1 of issue 12 describes them) in stream-sized batches,
compacts every hour, then times searches. Figures: write events/s, bytes per event on disk
before and after compaction, and search latency (median of runs, first page of 100) for a
host in one hour, the 10 minutes around an alert on one host, a field = value over all
hours and free text over all hours (a value found often, and one found nowhere: the
latter reads every event of the range), the count of matches the search page shows, and
the page's default (the last hour, first page of 50). The hours end with the last full hour
before now.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tandem.logs.archive.retention import prune
from tandem.logs.archive.search import around, histogram, search
from tandem.logs.archive.search import count as count_matches
from tandem.logs.archive.writer import append, compact

TENANT = 1
BATCH = 5000
_USERS = [f"user{n:03d}" for n in range(300)] + ["administrator", "svc_backup", "root"]
_WINDOWS_HOSTS = [f"WS-{n:04d}.corp.example" for n in range(150)]
_LINUX_HOSTS = [f"srv-{n:03d}" for n in range(50)]
_IMAGES = [
    "C:\\Windows\\System32\\cmd.exe",
    "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
    "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
    "C:\\Windows\\explorer.exe",
    "C:\\Windows\\System32\\svchost.exe",
    "C:\\Windows\\System32\\rundll32.exe",
]


def generate(count: int, start: datetime, hours: int, seed: int = 12) -> Iterator[list[dict]]:
    """``count`` events spread evenly over ``hours`` from ``start``, in batches of BATCH."""
    rng = random.Random(seed)
    step = timedelta(hours=hours) / count
    batch: list[dict[str, Any]] = []
    for number in range(count):
        moment = start + step * number
        batch.append(_event(rng, number, moment))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _event(rng: random.Random, number: int, moment: datetime) -> dict[str, Any]:
    stamp = moment.isoformat().replace("+00:00", "Z")
    common = {
        "_tenant": TENANT,
        "_time": stamp,
        "_received": stamp,
        "_id": f"{number:012d}",
        # Half the events came with a device credential (agents), as the archive records.
        **({"_device": 1 + number % 200} if number % 2 else {}),
    }
    kind = rng.random()
    if kind < 0.6:
        host = rng.choice(_WINDOWS_HOSTS)
        user = rng.choice(_USERS)
        if kind < 0.25:
            event_id, service, data = 4624, "security", _logon(rng, user)
        elif kind < 0.3:
            event_id, service, data = 4625, "security", _logon(rng, user)
        elif kind < 0.5:
            event_id, service, data = 1, "sysmon", _process(rng, user, host)
        else:
            event_id, service, data = 3, "sysmon", _network(rng, user)
        channel = "Security" if service == "security" else "Microsoft-Windows-Sysmon/Operational"
        provider = (
            "Microsoft-Windows-Security-Auditing"
            if service == "security"
            else "Microsoft-Windows-Sysmon"
        )
        category = {1: "process_creation", 3: "network_connection"}.get(event_id)
        return {
            **common,
            "_host": host,
            "_source": "agent",
            "_logsource": {"product": "windows", "category": category, "service": service},
            "Event": {
                "System": {
                    "Provider": {"Name": provider},
                    "EventID": event_id,
                    "Level": 0,
                    "Channel": channel,
                    "Computer": host,
                    "EventRecordID": number,
                    "TimeCreated": {"SystemTime": stamp},
                },
                "EventData": data,
            },
        }
    host = rng.choice(_LINUX_HOSTS)
    user = rng.choice(_USERS)
    app, pid = rng.choice([("sshd", 22), ("sudo", 0), ("CRON", 0), ("systemd", 1)])
    pid = pid or rng.randint(100, 60000)
    ip = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    message = {
        "sshd": f"Accepted publickey for {user} from {ip} port {rng.randint(1024, 65535)} ssh2",
        "sudo": f"{user} : TTY=pts/0 ; PWD=/home/{user} ; USER=root ; COMMAND=/usr/bin/apt update",
        "CRON": f"pam_unix(cron:session): session opened for user {user} by (uid=0)",
        "systemd": f"Started session {rng.randint(1, 9999)} of user {user}.",
    }[app]
    return {
        **common,
        "_host": host,
        "_source": "syslog",
        "_logsource": {"product": "linux", "category": None, "service": app.lower()},
        "@timestamp": stamp,
        "message": message,
        "host": {"hostname": host},
        "log": {"syslog": {"facility": {"code": 10}, "severity": {"code": 6}, "appname": app}},
        "process": {"name": app, "pid": pid},
        "user": {"name": user},
        "source": {"ip": ip},
    }


def _logon(rng: random.Random, user: str) -> dict[str, Any]:
    return {
        "SubjectUserSid": "S-1-5-18",
        "SubjectUserName": "-",
        "TargetUserName": user,
        "TargetDomainName": "CORP",
        "LogonType": rng.choice([2, 3, 3, 3, 5, 10]),
        "LogonProcessName": "NtLmSsp",
        "AuthenticationPackageName": "NTLM",
        "WorkstationName": rng.choice(_WINDOWS_HOSTS).split(".")[0],
        "IpAddress": f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "IpPort": str(rng.randint(1024, 65535)),
    }


def _process(rng: random.Random, user: str, host: str) -> dict[str, Any]:
    image = rng.choice(_IMAGES)
    return {
        "RuleName": "-",
        "UtcTime": "",
        "ProcessGuid": f"{{{rng.getrandbits(32):08x}-1234-5678-9abc-{rng.getrandbits(48):012x}}}",
        "ProcessId": rng.randint(100, 60000),
        "Image": image,
        "CommandLine": f'"{image}" /c echo {rng.getrandbits(40):x}',
        "CurrentDirectory": "C:\\Windows\\system32\\",
        "User": f"CORP\\{user}",
        "IntegrityLevel": rng.choice(["Medium", "High", "System"]),
        "Hashes": f"SHA256={rng.getrandbits(256):064X}",
        "ParentImage": rng.choice(_IMAGES),
        "ParentCommandLine": "C:\\Windows\\explorer.exe",
        "Computer": host,
    }


def _network(rng: random.Random, user: str) -> dict[str, Any]:
    return {
        "Image": rng.choice(_IMAGES),
        "User": f"CORP\\{user}",
        "Protocol": "tcp",
        "Initiated": "true",
        "SourceIp": f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "SourcePort": rng.randint(1024, 65535),
        "DestinationIp": f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.0.{rng.randint(1, 254)}",
        "DestinationPort": rng.choice([443, 80, 445, 3389, 53]),
    }


def run(count: int, hours: int, directory: Path, runs: int = 5) -> dict[str, Any]:
    """Write, compact and search; returns the figures.

    The events fill the ``hours`` that end with the last full hour before now, as a live
    archive holds them (the periodic compaction and retention see them as they would).
    """
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours)
    written = 0
    writing = 0.0
    writing_cpu = 0.0
    for batch in generate(count, start, hours):
        began, began_cpu = time.perf_counter(), time.process_time()
        append(directory, TENANT, batch)
        writing += time.perf_counter() - began
        writing_cpu += time.process_time() - began_cpu
        written += len(batch)
    parts_bytes = _disk_bytes(directory)
    began, began_cpu = time.perf_counter(), time.process_time()
    for hour in range(hours):
        compact(directory, TENANT, start + timedelta(hours=hour))
    compacting = time.perf_counter() - began
    compacting_cpu = time.process_time() - began_cpu
    compact_bytes = _disk_bytes(directory)
    end = start + timedelta(hours=hours)
    middle = start + timedelta(hours=hours // 2)
    figures: dict[str, Any] = {
        "events": written,
        "hours": hours,
        "batch": BATCH,
        "write_events_per_s": round(written / writing),
        # CPU of this process (every thread: Arrow's and DuckDB's too) per event, which a
        # shared machine's load changes far less than the wall clock.
        "write_cpu_us_per_event": round(writing_cpu / written * 1e6, 1),
        "bytes_per_event_parts": round(parts_bytes / written, 1),
        "compact_seconds": round(compacting, 2),
        "compact_cpu_seconds": round(compacting_cpu, 2),
        "bytes_per_event_compacted": round(compact_bytes / written, 1),
        "cpu_count": os.cpu_count(),
        "load_average_start": [round(value, 2) for value in os.getloadavg()],
    }
    cases: dict[str, Callable[[], Any]] = {
        "host_one_hour_ms": lambda: search(
            directory, TENANT, start=middle, end=middle + timedelta(hours=1), host="ws-0042*"
        ),
        "around_alert_ms": lambda: around(
            directory, TENANT, middle + timedelta(minutes=25), "ws-0042.corp.example", minutes=5
        ),
        "field_24h_ms": lambda: search(
            directory, TENANT, start=start, end=end, fields={"TargetUserName": "svc_backup"}
        ),
        "field_24h_rare_ms": lambda: search(
            directory, TENANT, start=start, end=end, fields={"user.name": "nobody-here"}
        ),
        "text_24h_ms": lambda: search(
            directory, TENANT, start=start, end=end, text='powershell.exe" /c echo 1'
        ),
        "text_24h_rare_ms": lambda: search(
            directory, TENANT, start=start, end=end, text="never-seen-string"
        ),
        # Absent too, but made of digits and dots, whose trigrams every block holds: the
        # trigram index cannot skip a file for it, so it reads every event's JSON.
        "text_24h_rare_digits_ms": lambda: search(
            directory, TENANT, start=start, end=end, text="203.0.113.77"
        ),
        # The search page's count of matches (stops at 10,000; a rare value reads all).
        "count_field_24h_ms": lambda: count_matches(
            directory, TENANT, start=start, end=end, fields={"TargetUserName": "svc_backup"}
        ),
        "count_host_1h_ms": lambda: count_matches(
            directory, TENANT, start=middle, end=middle + timedelta(hours=1), host="ws-0042*"
        ),
        # The search page's default: the last hour, no filter, first page of 50.
        "last_hour_page_ms": lambda: search(
            directory, TENANT, start=end - timedelta(hours=1), end=end, limit=50
        ),
        # The page's histogram of the default view and of a field over 24 hours (every
        # match counted: the sum is the exact count).
        "histogram_last_hour_ms": lambda: _total(
            histogram(
                directory,
                TENANT,
                start=end - timedelta(hours=1),
                end=end,
                bucket=timedelta(minutes=1),
            )
        ),
        "histogram_field_24h_ms": lambda: _total(
            histogram(
                directory,
                TENANT,
                start=start,
                end=end,
                bucket=timedelta(minutes=30),
                fields={"TargetUserName": "svc_backup"},
            )
        ),
        # A narrowed provider's search: the devices in its scope (20 of 200), 24 hours.
        "scoped_24h_ms": lambda: search(
            directory, TENANT, start=start, end=end, devices=range(1, 21), limit=50
        ),
    }
    for name, case in cases.items():
        timings = []
        cpu = []
        for _ in range(runs):
            began, began_cpu = time.perf_counter(), time.process_time()
            answer = case()
            timings.append(time.perf_counter() - began)
            cpu.append(time.process_time() - began_cpu)
        figures[name] = round(statistics.median(timings) * 1000, 1)
        figures[name.replace("_ms", "_cpu_ms")] = round(statistics.median(cpu) * 1000, 1)
        hits = (
            answer
            if isinstance(answer, int)
            else (answer[0] if isinstance(answer, tuple) else len(answer.events))
        )
        figures[name.replace("_ms", "_hits")] = hits
    began = time.perf_counter()
    figures["load_average_end"] = [round(value, 2) for value in os.getloadavg()]
    figures["prune_hours"] = prune(directory, TENANT, 1, end + timedelta(days=1))
    figures["prune_seconds"] = round(time.perf_counter() - began, 3)
    return figures


def _total(buckets: list[tuple[datetime, int]]) -> int:
    return sum(number for _, number in buckets)


def _disk_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*.parquet"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    directory = options.dir or Path(tempfile.mkdtemp(prefix="tandem-archive-bench-"))
    try:
        figures = run(options.events, options.hours, directory, options.runs)
    finally:
        if options.dir is None:
            shutil.rmtree(directory, ignore_errors=True)
    if options.json:
        print(json.dumps(figures))
    else:
        for name, value in figures.items():
            print(f"{name:28} {value}")


if __name__ == "__main__":
    main()
