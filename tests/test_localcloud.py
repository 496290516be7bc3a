"""The local cloud's lifecycle and failure cases, as a learner meets them from the CLI or a kernel."""

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request

from support import wait_for

from labkit.localcloud import control


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "labkit.cli", *args], capture_output=True, text=True, timeout=60)


def answers(endpoint):
    try:
        with urllib.request.urlopen(endpoint + "/_labkit/health", timeout=1) as response:
            return json.loads(response.read())["pid"]
    except OSError:
        return None


def test_up_then_up_again_attaches_to_the_same_process(isolated_cloud_env):
    first = run_cli("up")
    assert first.returncode == 0, first.stderr
    assert "started the local cloud" in first.stdout
    status = json.loads(run_cli("status", "--json").stdout)
    for field in ("endpoint", "target", "region", "pid"):
        assert status[field], field
    assert status["target"] == "local" and status["region"] == "us-east-1"
    assert status["endpoint"] == f"http://127.0.0.1:{os.environ['LABKIT_PORT']}"
    second = run_cli("up")
    assert second.returncode == 0 and "attached" in second.stdout
    assert json.loads(run_cli("status", "--json").stdout)["pid"] == status["pid"]
    assert answers(status["endpoint"]) == status["pid"]


def test_down_stops_the_process_and_status_says_so(isolated_cloud_env):
    info, _ = control.up()
    result = run_cli("down")
    assert result.returncode == 0 and f"pid {info['pid']}" in result.stdout
    assert answers(info["endpoint"]) is None
    assert not control.pidfile_path().exists()
    status = run_cli("status")
    assert status.returncode == 3 and "not running" in status.stdout
    assert "not running" in run_cli("down").stdout


def test_it_outlives_the_process_that_started_it(isolated_cloud_env):
    kernel = subprocess.run([sys.executable, "-c", "from labkit import course; course.start(quiet=True)"], timeout=60)
    assert kernel.returncode == 0
    assert control.status()["running"]


def test_a_crashed_cloud_is_reported_then_replaced(isolated_cloud_env):
    info, _ = control.up()
    os.kill(info["pid"], signal.SIGKILL)

    def reported_exited():
        status = control.status()
        return not status["running"] and "has exited" in status["problem"]

    # Right after the kill the process may still be there, not answering: a different report.
    wait_for(reported_exited, 5, "status to report that the cloud has exited")
    new_info, happened = control.up()
    assert new_info["pid"] != info["pid"]
    assert "had exited" in happened and "resources are gone" in happened
    assert answers(new_info["endpoint"]) == new_info["pid"]


def test_a_stale_pidfile_from_a_dead_process_is_recovered(isolated_cloud_env):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    isolated_cloud_env.mkdir(parents=True)
    control.pidfile_path().write_text(
        json.dumps({"pid": dead.pid, "port": int(os.environ["LABKIT_PORT"]), "endpoint": "x", "region": "us-east-1"})
    )
    result = run_cli("up")
    assert result.returncode == 0, result.stderr
    assert "had exited" in result.stdout


def test_a_port_taken_by_another_program_gets_a_clear_message(isolated_cloud_env):
    port = int(os.environ["LABKIT_PORT"])
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        result = run_cli("up")
    assert result.returncode == 1
    assert f"port {port}" in result.stderr and "LABKIT_PORT" in result.stderr
    assert f"pid {os.getpid()}" in result.stderr  # names the program holding the port
    assert "Traceback" not in result.stderr
    assert not control.pidfile_path().exists()


def test_an_invalid_port_setting_is_explained(isolated_cloud_env, monkeypatch):
    monkeypatch.setenv("LABKIT_PORT", "eighty")
    result = run_cli("up")
    assert result.returncode == 1 and "LABKIT_PORT='eighty'" in result.stderr
    assert "Traceback" not in result.stderr


def test_reset_empties_every_resource(isolated_cloud_env):
    from labkit import course

    course.start(quiet=True)
    import boto3

    sqs = boto3.client("sqs")
    sqs.create_queue(QueueName="before-reset")
    assert sqs.list_queues().get("QueueUrls")
    result = run_cli("reset")
    assert result.returncode == 0, result.stderr
    assert not sqs.list_queues().get("QueueUrls")


def test_reset_when_not_running_says_what_to_do(isolated_cloud_env):
    result = run_cli("reset")
    assert result.returncode == 1 and "labkit up" in result.stderr


def test_reset_of_a_cloud_that_does_not_answer_says_so_rather_than_not_running(isolated_cloud_env):
    info, _ = control.up()
    os.kill(info["pid"], signal.SIGSTOP)  # alive, but answers nothing
    try:
        result = run_cli("reset")
    finally:
        os.kill(info["pid"], signal.SIGCONT)
    assert result.returncode == 1
    assert f"the process (pid {info['pid']}) is alive but does not answer on port {info['port']}, so it cannot be " in (
        result.stderr
    )
    assert "labkit logs" in result.stderr and "not running" not in result.stderr


def test_logs_show_what_the_cloud_printed(isolated_cloud_env):
    info, _ = control.up()
    result = run_cli("logs", "-n", "5")
    assert result.returncode == 0 and f"pid {info['pid']}" in result.stdout
