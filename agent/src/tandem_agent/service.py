"""The agent's work: collect, queue, send; once, or as a service loop until SIGTERM.

A collected inventory is queued *before* any send, so a server that is down, a network that
is gone or a kill in the middle loses nothing: the next round sends what waited, oldest
first. The loop sleeps the server's interval with jitter, or a backoff after a failure.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tandem_agent.client import AgentClient, Revoked, SendResult, TransportError, now_iso
from tandem_agent.inventory import Document, state_hash
from tandem_agent.jobs import INTERRUPTED, JobOutcome, JobRunner
from tandem_agent.queue import ReportQueue
from tandem_agent.state import StateDir
from tandem_agent.timing import backoff_delay, jittered_interval

log = logging.getLogger("tandem_agent")

#: Jobs arrive on check-in; an agent process started without a job runner (a library
#: caller, a test) refuses them, saying so. ``tandem-agent run`` and ``once`` run them.
JOB_REFUSAL = "this agent process runs no jobs (it was started without a job runner)"


def queue_inventory(state: StateDir, queue: ReportQueue, document: Document) -> str:
    """Queue a collected inventory; one the same as the last queued goes as its hash only."""
    current = state_hash(document)
    status = state.status()
    unchanged = status.extra.get("queued_hash") == current
    body: dict[str, Any] = {"state_hash": current}
    if not unchanged:
        body["inventory"] = document
    report = queue.put("inventory", body, agent_time=now_iso())
    status = state.status()
    status.extra["queued_hash"] = current
    state.save_status(status)
    return report.id


def report_interrupted(queue: ReportQueue, runner: JobRunner) -> int:
    """Jobs the agent started and never finished (killed, or the machine went down): each
    is reported failed "interrupted", never run again."""
    interrupted = runner.interrupted()
    for job_id in interrupted:
        queue.put(
            "job_result",
            JobOutcome("failed", None, INTERRUPTED).report(job_id),
            agent_time=now_iso(),
        )
        runner.finish(job_id)
    return len(interrupted)


def answer_jobs(
    queue: ReportQueue, jobs: list[dict[str, Any]], runner: JobRunner | None = None
) -> int:
    """Run each job received (once: decision 0029) and queue its result; without a runner,
    queue a refusal. Returns how many results were queued."""
    answered = 0
    for job in jobs:
        job_id = str(job.get("id"))
        if runner is None:
            outcome = JobOutcome("refused", None, JOB_REFUSAL)
        elif not runner.start(job_id):
            log.warning("job %s was received again; it runs once only", job_id)
            continue
        else:
            log.info("running job %s (%s)", job_id, job.get("kind"))
            outcome = runner.run(job)
        # The result is queued (durably) before the job is marked done: a crash between
        # the two reports it "interrupted" as well, which the server ignores once the job
        # has ended; the other order could lose the result.
        queue.put("job_result", outcome.report(job_id), agent_time=now_iso())
        if runner is not None:
            runner.finish(job_id)
        answered += 1
    return answered


def send(client: AgentClient, queue: ReportQueue, runner: JobRunner | None = None) -> SendResult:
    """Send the queue; run any jobs received, and send their results at once."""
    if runner is not None:
        report_interrupted(queue, runner)
    result = client.send_queue(queue)
    while result.jobs and answer_jobs(queue, result.jobs, runner):
        result = client.send_queue(queue)
    return result


@dataclass
class LoopOutcome:
    rounds: int
    stopped_by: str  # "signal", "revoked", "rounds"


def run_loop(
    *,
    client: AgentClient,
    queue: ReportQueue,
    collect: Callable[[], Document],
    stop: threading.Event,
    rng: random.Random,
    max_rounds: int | None = None,
    runner: JobRunner | None = None,
) -> LoopOutcome:
    """Collect, queue and send every interval until ``stop`` is set or the device is revoked."""
    failures = 0
    rounds = 0
    while not stop.is_set():
        rounds += 1
        enrolment = client.state.enrolment()
        interval = float(enrolment.interval if enrolment else 300)
        retry_after = None
        try:
            document = collect()
        except Exception:  # a collector's bug must not stop the service or what is queued
            log.exception("collecting the inventory failed; sending what is queued")
        else:
            queue_inventory(client.state, queue, document)
        try:
            result = send(client, queue, runner)
            if result.interval:
                interval = float(result.interval)
                _remember_interval(client.state, result.interval)
            failed = result.outcome.action not in ("ok", "full")
            retry_after = result.outcome.retry_after
        except TransportError as error:
            log.warning("server unreachable, %d reports kept: %s", len(queue), error)
            failed = True
        except Revoked as error:
            log.error("the server revoked this device (%s); stopping", error)
            return LoopOutcome(rounds, "revoked")
        failures = failures + 1 if failed else 0
        wait = (
            backoff_delay(failures, rng=rng, retry_after=retry_after)
            if failures
            else jittered_interval(interval, rng=rng)
        )
        if max_rounds is not None and rounds >= max_rounds:
            return LoopOutcome(rounds, "rounds")
        stop.wait(wait)
    return LoopOutcome(rounds, "signal")


def _remember_interval(state: StateDir, interval: int) -> None:
    enrolment = state.enrolment()
    if enrolment is not None and enrolment.interval != interval:
        enrolment.interval = interval
        state.save_enrolment(enrolment)
