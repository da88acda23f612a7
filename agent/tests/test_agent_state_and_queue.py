"""State directory, credential permissions, the durable queue, and the timing rules."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta

from tandem_agent.queue import ReportQueue
from tandem_agent.state import DEFAULT_STATE_DIR, Enrolment, StateDir, resolve_state_dir
from tandem_agent.timing import backoff_delay, clock_offset, jittered_interval


def test_state_dir_option_then_environment_then_default(monkeypatch):
    monkeypatch.delenv("TANDEM_AGENT_STATE_DIR", raising=False)
    assert str(resolve_state_dir(None)) == DEFAULT_STATE_DIR == "/var/lib/tandem-agent"
    monkeypatch.setenv("TANDEM_AGENT_STATE_DIR", "/srv/agent")
    assert str(resolve_state_dir(None)) == "/srv/agent"
    assert str(resolve_state_dir("/opt/x")) == "/opt/x"


def test_credential_file_is_0600_and_the_folder_0700(state_dir):
    state = StateDir(state_dir)
    state.save_credential("tdm_dev_secret")
    assert stat.S_IMODE(state.credential_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    assert state.credential() == "tdm_dev_secret"
    state.save_credential("rotated")  # replaced atomically, still 0600
    assert stat.S_IMODE(state.credential_path.stat().st_mode) == 0o600
    assert state.credential() == "rotated"
    assert not [p for p in state_dir.iterdir() if p.name.startswith(".")]


def test_enrolment_and_status_survive_a_new_process(state_dir):
    StateDir(state_dir).save_enrolment(Enrolment(server="https://t.example", device_id="d1"))
    again = StateDir(state_dir)
    assert again.enrolment() == Enrolment(server="https://t.example", device_id="d1")
    status = again.status()
    status.last_error = "boom"
    again.save_status(status)
    assert StateDir(state_dir).status().last_error == "boom"


def test_queue_delivers_oldest_first_with_unique_ids_and_growing_sequences(tmp_path):
    queue = ReportQueue(tmp_path / "q.sqlite3")
    reports = [queue.put("inventory", {"n": n}, agent_time="t") for n in range(5)]
    assert len({r.id for r in reports}) == 5
    assert [r.sequence for r in reports] == sorted(r.sequence for r in reports)
    assert [r.body["n"] for r in queue.oldest(3)] == [0, 1, 2]
    assert queue.acknowledge([reports[0].id, reports[1].id, "unknown"]) == 2
    assert [r.body["n"] for r in queue.oldest(10)] == [2, 3, 4]
    # Sequences never go back, even after the newest is removed.
    queue.acknowledge([r.id for r in reports[2:]])
    assert queue.put("inventory", {"n": 5}, agent_time="t").sequence > reports[-1].sequence
    assert stat.S_IMODE((tmp_path / "q.sqlite3").stat().st_mode) == 0o600
    mode = queue._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_queued_reports_survive_a_kill(tmp_path):
    path = tmp_path / "q.sqlite3"
    script = textwrap.dedent(
        f"""
        import os, signal
        from tandem_agent.queue import ReportQueue
        queue = ReportQueue(__import__("pathlib").Path({str(path)!r}))
        for n in range(3):
            queue.put("inventory", {{"n": n}}, agent_time="t")
        print("queued", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == -signal.SIGKILL
    assert done.stdout.strip() == "queued"
    queue = ReportQueue(path)
    assert [r.body["n"] for r in queue.oldest(10)] == [0, 1, 2]


class Highest(random.Random):
    """A random source that always draws the top of the range."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_backoff_doubles_up_to_the_cap_with_full_jitter():
    top = [backoff_delay(n, rng=Highest(), base=5, cap=900) for n in range(1, 10)]
    assert top == [5, 10, 20, 40, 80, 160, 320, 640, 900]
    assert backoff_delay(0, rng=Highest()) == 0
    rng = random.Random(7)
    draws = [backoff_delay(4, rng=rng, base=5, cap=900) for _ in range(200)]
    assert all(0 <= d <= 40 for d in draws)
    assert min(draws) < 10 and max(draws) > 30  # spread over the whole range: full jitter
    assert backoff_delay(10_000, rng=Highest()) == 900  # no overflow


def test_retry_after_is_a_floor_but_never_past_the_cap():
    class Lowest(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return a

    assert backoff_delay(1, rng=Lowest(), retry_after=120) == 120
    assert backoff_delay(1, rng=Lowest(), retry_after=99_999, cap=900) == 900


def test_interval_jitter_stays_within_ten_percent():
    rng = random.Random(1)
    waits = [jittered_interval(300, rng=rng) for _ in range(200)]
    assert all(270 <= w <= 330 for w in waits)


def test_clock_offset_uses_the_midpoint_of_the_exchange():
    sent = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    received = sent + timedelta(seconds=2)
    server = sent + timedelta(seconds=1, minutes=5)  # the server is five minutes ahead
    assert clock_offset(sent=sent, received=received, server_time=server) == 300.0
    assert os.sep  # keep os imported for the kill test's platform
