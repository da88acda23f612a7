"""The job runner: run a script, install updates, reboot (decision 0029), each answered with
a ``job_result`` report in the durable queue (decision 0025).

- ``run_script``: the script is written to a private temporary folder and run by ``sh`` or
  ``bash`` in its own process group, with the job's timeout (the whole group is killed when
  it passes). Output (stdout and stderr together) goes to a file, so a noisy script cannot
  fill the agent's memory; at most :data:`MAX_OUTPUT_BYTES` is sent, and the report says
  when it was cut. Exit status 0 is ``succeeded``, anything else ``failed``.
- ``install_updates``: through the OS backend (Debian: ``apt-get install --only-upgrade``
  of the named packages, ``dist-upgrade`` for ``all``, the security-origin updates by name
  for ``security``); a backend that cannot install updates refuses the job.
- ``reboot``: the configured reboot command (``TANDEM_AGENT_REBOOT_COMMAND``, default
  ``shutdown -r +{minutes}``), which schedules the reboot and returns, so the result is
  queued (and usually sent) before the machine goes down.
- Anything else is refused, saying why.

**Never twice.** A job's id is recorded as started (``jobs.json`` in the state directory,
written atomically) before it runs, and as done once its result is queued. A job id
received again is skipped. A job still marked started when the agent starts again (it was
killed, or the machine went down, mid-job) is not run again: it is reported ``failed``
with "interrupted".
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tandem_agent.backends.base import Backend, CommandResult
from tandem_agent.state import StateDir, write_atomically

#: The most output a job's result carries (the server keeps as much).
MAX_OUTPUT_BYTES = 64 * 1024
TRUNCATED = "\n[output truncated at 64 KiB]"
#: How many finished job ids the agent remembers (a job is handed out once; this only
#: guards against a repeated answer).
DONE_KEPT = 500
REBOOT_COMMAND_ENV = "TANDEM_AGENT_REBOOT_COMMAND"
DEFAULT_REBOOT_COMMAND = "shutdown -r +{minutes}"
WINDOWS_REBOOT_COMMAND = "shutdown /r /t {seconds}"
#: How long installing updates may take before the job fails.
INSTALL_TIMEOUT_SECONDS = 3600

UNKNOWN_KIND = "this agent does not run jobs of kind {kind!r}"
NOT_SUPPORTED = "installing updates is not supported on this OS (backend {backend})"
INTERRUPTED = "interrupted: the agent stopped while the job ran; it was not run again"
BAD_PARAMETERS = "the job's parameters are not usable: {detail}"


@dataclass(frozen=True)
class JobOutcome:
    """What a job's ``job_result`` report says."""

    status: str  # succeeded | failed | refused
    exit_code: int | None
    output: str

    def report(self, job_id: str) -> dict[str, Any]:
        return {
            "job_id": job_id,
            "status": self.status,
            "exit_code": self.exit_code,
            "output": self.output,
        }


def cap_output(data: bytes) -> str:
    """Decoded output, at most :data:`MAX_OUTPUT_BYTES`, saying so when it was cut."""
    if len(data) <= MAX_OUTPUT_BYTES:
        return data.decode("utf-8", errors="replace")
    keep = MAX_OUTPUT_BYTES - len(TRUNCATED.encode())
    return data[:keep].decode("utf-8", errors="ignore") + TRUNCATED


def refused(reason: str) -> JobOutcome:
    return JobOutcome("refused", None, reason)


def run_script(script: str, *, interpreter: str, timeout: float) -> JobOutcome:
    """Run ``script`` with ``interpreter`` (``sh`` or ``bash``) in a private temporary folder,
    killing its whole process group after ``timeout`` seconds."""
    if interpreter not in ("sh", "bash"):
        return refused(BAD_PARAMETERS.format(detail=f"interpreter {interpreter!r}"))
    with tempfile.TemporaryDirectory(prefix="tandem-job-") as folder:
        path = os.path.join(folder, "script")
        with open(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o700), "w") as file:
            file.write(script)
        with open(os.path.join(folder, "output"), "w+b") as output:
            # The interpreter is one of two fixed names; the script is the job's own text,
            # which is what a job is for.
            process = subprocess.Popen(  # noqa: S603
                [interpreter, path],
                cwd=folder,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                code = process.wait(timeout=timeout)
                timed_out = False
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                code, timed_out = None, True
            output.seek(0)
            text = cap_output(output.read(MAX_OUTPUT_BYTES + 1))
    if timed_out:
        return JobOutcome("failed", None, text + f"\n[timed out after {timeout:g} s; killed]")
    assert code is not None
    return JobOutcome("succeeded" if code == 0 else "failed", code, text)


def install_updates(backend: Backend, packages: Any) -> JobOutcome:
    """Install updates through the backend, or refuse where it cannot."""
    install: Callable[..., CommandResult] | None = getattr(backend, "install_updates", None)
    if install is None:
        return refused(NOT_SUPPORTED.format(backend=backend.name))
    if not (packages in ("all", "security") or isinstance(packages, list)):
        return refused(BAD_PARAMETERS.format(detail="packages"))
    try:
        result = install(packages, timeout=INSTALL_TIMEOUT_SECONDS)
    except RuntimeError as error:
        return JobOutcome("failed", None, f"could not list the updates: {error}")
    text = cap_output((result.stdout + result.stderr).encode())
    return JobOutcome("succeeded" if result.returncode == 0 else "failed", result.returncode, text)


def reboot_command(delay_minutes: int, template: str | None = None) -> list[str]:
    """The reboot command for a delay: ``template`` (else ``TANDEM_AGENT_REBOOT_COMMAND``,
    else the platform's ``shutdown``), split like a shell would, ``{minutes}`` and
    ``{seconds}`` filled in."""
    if template is None:
        template = os.environ.get(REBOOT_COMMAND_ENV) or (
            WINDOWS_REBOOT_COMMAND if sys.platform == "win32" else DEFAULT_REBOOT_COMMAND
        )
    return [
        part.format(minutes=delay_minutes, seconds=delay_minutes * 60)
        for part in shlex.split(template)
    ]


def reboot(delay_minutes: int, *, template: str | None = None) -> JobOutcome:
    """Schedule the reboot (the command returns; the machine goes down after the delay)."""
    command = reboot_command(delay_minutes, template)
    try:
        # The command comes from the agent's own configuration, not from the job.
        done = subprocess.run(  # noqa: S603
            command, capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return JobOutcome("failed", None, f"the reboot command failed: {error}")
    text = cap_output(done.stdout + done.stderr)
    if done.returncode == 0:
        text = (text + "\n" if text else "") + f"reboot scheduled in {delay_minutes} min"
    return JobOutcome("succeeded" if done.returncode == 0 else "failed", done.returncode, text)


class JobRunner:
    """Runs the jobs a check-in hands out, once each (see the module's rules)."""

    def __init__(
        self,
        *,
        state: StateDir,
        backend: Callable[[], Backend],
        reboot_template: str | None = None,
    ) -> None:
        self.state = state
        self._make_backend = backend
        self._backend: Backend | None = None
        self.reboot_template = reboot_template

    @property
    def backend(self) -> Backend:
        """The OS backend, chosen when a job first needs it (most check-ins carry none)."""
        if self._backend is None:
            self._backend = self._make_backend()
        return self._backend

    # The record of started and finished jobs ------------------------------------------------

    @property
    def _path(self) -> Path:
        return self.state.path / "jobs.json"

    def _load(self) -> dict[str, list[str]]:
        try:
            data = json.loads(self._path.read_text())
        except FileNotFoundError:
            return {"started": [], "done": []}
        return {
            "started": [str(i) for i in data.get("started", [])],
            "done": [str(i) for i in data.get("done", [])],
        }

    def _save(self, record: dict[str, list[str]]) -> None:
        self.state.ensure()
        record["done"] = record["done"][-DONE_KEPT:]
        write_atomically(self._path, json.dumps(record).encode(), mode=0o600)

    def interrupted(self) -> list[str]:
        """The jobs marked started and never finished (the agent was stopped mid-job)."""
        return list(self._load()["started"])

    def start(self, job_id: str) -> bool:
        """Mark a job started; False when it was started or finished before (skip it)."""
        record = self._load()
        if job_id in record["started"] or job_id in record["done"]:
            return False
        record["started"].append(job_id)
        self._save(record)
        return True

    def finish(self, job_id: str) -> None:
        record = self._load()
        record["started"] = [i for i in record["started"] if i != job_id]
        record["done"].append(job_id)
        self._save(record)

    # Running ---------------------------------------------------------------------------------

    def run(self, job: dict[str, Any]) -> JobOutcome:
        """One job's outcome; never raises (a bug is a failed job, saying so)."""
        kind = job.get("kind")
        params = job.get("parameters") or {}
        if not isinstance(params, dict):
            return refused(BAD_PARAMETERS.format(detail="not an object"))
        try:
            if kind == "run_script":
                script = params.get("script")
                if not isinstance(script, str):
                    return refused(BAD_PARAMETERS.format(detail="no script"))
                return run_script(
                    script,
                    interpreter=str(params.get("interpreter", "sh")),
                    timeout=float(params.get("timeout_seconds", 600)),
                )
            if kind == "install_updates":
                return install_updates(self.backend, params.get("packages"))
            if kind == "reboot":
                return reboot(int(params.get("delay_minutes", 1)), template=self.reboot_template)
        except Exception as error:  # a job must never stop the agent
            return JobOutcome("failed", None, f"the agent failed to run the job: {error!r}")
        return refused(UNKNOWN_KIND.format(kind=kind))


def default_runner(state: StateDir, backend: Callable[[], Backend]) -> JobRunner:
    """The runner of a real agent: reboot command from ``TANDEM_AGENT_REBOOT_COMMAND``."""
    return JobRunner(state=state, backend=backend, reboot_template=None)


__all__ = [
    "JobOutcome",
    "JobRunner",
    "cap_output",
    "default_runner",
    "install_updates",
    "reboot",
    "reboot_command",
    "run_script",
]
