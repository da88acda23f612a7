"""The agent's job runner: real scripts in real subprocesses, the apt commands a job becomes,
a harmless reboot command, and "never twice" across a crash."""

from __future__ import annotations

import json
import sys
import time

import pytest

from agent_support import RecordedRunner, recorded
from tandem_agent.backends.base import CommandResult
from tandem_agent.backends.debian import (
    REBOOT_REQUIRED_MARK,
    REFRESH_ENV,
    REFRESH_LISTS,
    DebianBackend,
    upgrade_command,
)
from tandem_agent.backends.macos import MacOSBackend
from tandem_agent.client import AgentClient
from tandem_agent.jobs import (
    INTERRUPTED,
    MAX_OUTPUT_BYTES,
    NOT_SUPPORTED,
    JobRunner,
    reboot_command,
    run_script,
)
from tandem_agent.protocol import HttpRequest, HttpResponse
from tandem_agent.queue import ReportQueue
from tandem_agent.service import answer_jobs, send
from tandem_agent.state import Enrolment, StateDir


@pytest.fixture
def state(state_dir):
    state = StateDir(state_dir)
    state.save_enrolment(Enrolment(server="https://tandem.example", device_id="dev-1"))
    state.save_credential("cred-1")
    return state


@pytest.fixture
def queue(state_dir):
    queue = ReportQueue(state_dir / "queue.sqlite3")
    yield queue
    queue.close()


def _runner(state, backend=None, reboot_template="true"):
    return JobRunner(
        state=state,
        backend=lambda: backend or DebianBackend(runner=RecordedRunner({})),
        reboot_template=reboot_template,
    )


def _results(queue):
    return {r.body["job_id"]: r.body for r in queue.oldest(100) if r.kind == "job_result"}


# run_script: real subprocesses ------------------------------------------------------------


def test_a_script_runs_for_real_and_reports_its_output_and_exit_code():
    outcome = run_script("echo hello; echo oops >&2; exit 0", interpreter="sh", timeout=10)
    assert (outcome.status, outcome.exit_code) == ("succeeded", 0)
    assert "hello" in outcome.output and "oops" in outcome.output


def test_a_non_zero_exit_is_a_failure_with_its_code():
    outcome = run_script("echo broken; exit 3", interpreter="bash", timeout=10)
    assert (outcome.status, outcome.exit_code) == ("failed", 3)
    assert "broken" in outcome.output


def test_a_script_past_its_timeout_is_killed_with_its_children(tmp_path):
    marker = tmp_path / "survived"
    script = f"(sleep 3; touch {marker}) & echo started; sleep 30"
    outcome = run_script(script, interpreter="sh", timeout=0.5)
    assert outcome.status == "failed" and outcome.exit_code is None
    assert "started" in outcome.output and "timed out" in outcome.output
    # The background child was killed with the group: it never touches the marker.
    time.sleep(3.5)
    assert not marker.exists()


def test_long_output_is_cut_and_says_so():
    outcome = run_script("head -c 200000 /dev/zero | tr '\\0' x", interpreter="sh", timeout=10)
    assert outcome.status == "succeeded"
    assert len(outcome.output.encode()) <= MAX_OUTPUT_BYTES
    assert outcome.output.endswith("[output truncated at 64 KiB]")


def test_an_unknown_interpreter_is_refused(state):
    outcome = _runner(state).run(
        {"id": "1", "kind": "run_script", "parameters": {"script": "id", "interpreter": "perl"}}
    )
    assert outcome.status == "refused"


# install_updates: the commands a job becomes ----------------------------------------------


def test_named_packages_become_one_only_upgrade_command_run_noninteractively():
    runner = RecordedRunner({("apt-get", "install"): CommandResult(0, "Setting up zz (2)\n")})
    backend = DebianBackend(runner=runner)
    result = backend.install_updates(["zz-tandem-test", "aa-tool"], timeout=60)
    assert result.returncode == 0 and "Setting up" in result.stdout
    assert runner.ran == [upgrade_command(["aa-tool", "zz-tandem-test"])]
    command = runner.ran[0]
    assert command[:3] == ["apt-get", "install", "--only-upgrade"]
    assert "-y" in command and "Dpkg::Options::=--force-confold" in command
    assert "DPkg::Lock::Timeout=300" in command  # waits for unattended-upgrades' lock
    assert command[-3:] == ["--", "aa-tool", "zz-tandem-test"]


def test_all_is_a_dist_upgrade_and_security_upgrades_the_security_updates_by_name():
    simulation = recorded("apt-get-s-dist-upgrade-ubuntu2204.txt")
    runner = RecordedRunner(
        {
            ("apt-get", "-s"): CommandResult(0, simulation),
            ("apt-get", "install"): CommandResult(0, "done"),
        }
    )
    backend = DebianBackend(runner=runner)
    assert backend.install_updates_commands("all")[0][:2] == ["apt-get", "dist-upgrade"]
    security = sorted({u["name"] for u in backend.patch_report().updates if u["security"]})
    assert security, "the recorded simulation has security updates"
    assert backend.install_updates_commands("security") == [upgrade_command(security)]


def test_lists_are_refreshed_first_when_configured_and_a_required_reboot_is_said(
    tmp_path, monkeypatch
):
    runner = RecordedRunner(
        {
            ("apt-get", "update"): CommandResult(0, "Reading package lists..."),
            ("apt-get", "install"): CommandResult(0, "Setting up zz-tandem-test (1.1) ..."),
        }
    )
    backend = DebianBackend(runner=runner, root=tmp_path)
    monkeypatch.delenv(REFRESH_ENV, raising=False)
    assert backend.install_updates_commands(["zz-tandem-test"]) == [
        upgrade_command(["zz-tandem-test"])
    ]
    monkeypatch.setenv(REFRESH_ENV, "1")
    (tmp_path / "var/run").mkdir(parents=True)
    (tmp_path / "var/run/reboot-required").write_text("*** System restart required ***\n")
    result = backend.install_updates(["zz-tandem-test"], timeout=60)
    assert runner.ran == [REFRESH_LISTS, upgrade_command(["zz-tandem-test"])]
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == REBOOT_REQUIRED_MARK


def test_a_failing_install_fails_the_job_with_apt_s_words(state):
    runner = RecordedRunner(
        {("apt-get", "install"): CommandResult(100, "", "E: Unable to locate package nope")}
    )
    outcome = _runner(state, DebianBackend(runner=runner)).run(
        {"id": "7", "kind": "install_updates", "parameters": {"packages": ["nope"]}}
    )
    assert (outcome.status, outcome.exit_code) == ("failed", 100)
    assert "Unable to locate package" in outcome.output


def test_a_backend_that_cannot_install_updates_refuses(state):
    outcome = _runner(state, MacOSBackend(runner=RecordedRunner({}))).run(
        {"id": "8", "kind": "install_updates", "parameters": {"packages": "all"}}
    )
    assert outcome.status == "refused"
    assert outcome.output == NOT_SUPPORTED.format(backend="macos")


# reboot: a configured, harmless command ---------------------------------------------------


def test_the_reboot_command_is_configurable_and_filled_with_the_delay(tmp_path, monkeypatch):
    assert reboot_command(5, "shutdown -r +{minutes}") == ["shutdown", "-r", "+5"]
    monkeypatch.setenv("TANDEM_AGENT_REBOOT_COMMAND", "echo reboot in {seconds}")
    assert reboot_command(2) == ["echo", "reboot", "in", "120"]


def test_a_reboot_job_runs_the_configured_command(state, tmp_path):
    marker = tmp_path / "rebooted"
    template = f"{sys.executable} -c \"open('{marker}', 'w').write('{{minutes}}')\""
    outcome = _runner(state, reboot_template=template).run(
        {"id": "9", "kind": "reboot", "parameters": {"delay_minutes": 4}}
    )
    assert outcome.status == "succeeded", outcome.output
    assert marker.read_text() == "4"
    assert "reboot scheduled in 4 min" in outcome.output


def test_an_unknown_kind_is_refused_saying_so(state):
    outcome = _runner(state).run({"id": "10", "kind": "format_disk", "parameters": {}})
    assert outcome.status == "refused"
    assert "format_disk" in outcome.output


# Once only, across a crash ----------------------------------------------------------------


def test_results_go_into_the_durable_queue_and_a_job_received_again_is_not_run_again(
    state, queue, tmp_path
):
    counter = tmp_path / "runs"
    job = {
        "id": "41",
        "kind": "run_script",
        "parameters": {"script": f"echo x >> {counter}; echo ran", "interpreter": "sh"},
    }
    runner = _runner(state)
    assert answer_jobs(queue, [job], runner) == 1
    assert answer_jobs(queue, [job], runner) == 0
    assert counter.read_text() == "x\n"
    result = _results(queue)["41"]
    assert (result["status"], result["exit_code"], result["output"]) == ("succeeded", 0, "ran\n")


def test_a_job_interrupted_by_a_crash_is_reported_failed_and_never_run_again(
    state, queue, tmp_path
):
    counter = tmp_path / "runs"
    job = {"id": "42", "kind": "run_script", "parameters": {"script": f"echo x >> {counter}"}}
    # The agent marked the job started, then died before its result was queued.
    assert _runner(state).start("42")
    sent = []

    class Server:
        def send(self, request: HttpRequest) -> HttpResponse:
            body = request.json()
            sent.extend(body["reports"])
            answer = {"accepted": [r["id"] for r in body["reports"]], "jobs": [job]}
            return HttpResponse(200, {}, json.dumps(answer).encode())

    restarted = _runner(state)
    send(AgentClient(state=state, transport=Server()), queue, restarted)
    reports = [r for r in sent if r["kind"] == "job_result"]
    assert [(r["job_id"], r["status"], r["output"]) for r in reports] == [
        ("42", "failed", INTERRUPTED)
    ]
    assert not counter.exists()
    assert restarted.interrupted() == []
