"""One build, run as CodeBuild runs it but without a container: the source unzipped into a working
copy, each phase's commands run one by one in the buildspec's shell (the host's, with the course's
Python first on PATH), the working directory and exported variables carried from command to command
as CodeBuild's one shell session carries them (not unexported variables, nor `$!`), every line
written to CloudWatch Logs, and the build's phases reported with AWS's phase types, statuses, contexts
and durations (CodeBuild User Guide, "Build phase transitions": a failure before BUILD goes to
FINALIZING, a failed BUILD still runs POST_BUILD, and UPLOAD_ARTIFACTS is always attempted)."""

import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from labkit.dataplane.codebuild import artifacts, buildspec, logs, timestamps

# A command that runs longer than the project's timeout is stopped; timeoutInMinutes is AWS's, in
# minutes of wall time: a build's commands take as long as they take on any clock.
DEFAULT_TIMEOUT_MINUTES = 60
# How long the end of a build waits for what it killed, to collect it.
REAP_WITHIN_S = 1.0
# How long a command's output is still read once it has exited (what it left running may hold it).
OUTPUT_GRACE_S = 1.0


class PhaseFailed(Exception):
    def __init__(self, status_code: str, message: str):
        super().__init__(message)
        self.status_code = status_code
        self.message = message


@dataclass
class Build:
    """What a build needs: moto's record of it (updated in place, so BatchGetBuilds reads it), its
    project, where its source comes from and where its artifact goes."""

    record: dict
    project: dict
    account_id: str
    region: str
    fetch_source: Callable[[], bytes | None]
    deliver_artifact: Callable[[bytes], dict] | None
    credentials: dict[str, str]
    endpoint: str
    variable_overrides: list[dict] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    """Held while the record changes: BatchGetBuilds copies it under the same lock."""
    process: subprocess.Popen | None = None
    process_groups: list[int] = field(default_factory=list)
    """Each command's process group: what a command left running goes when the build ends."""

    def stop(self) -> None:
        self.stopped.set()
        process = self.process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def run(build: Build) -> None:
    record = build.record
    log = logs.BuildLog(build.account_id, build.region, record["projectName"], record["id"])
    with build.lock:
        record["logs"].update(log.description())
    workdir = Path(tempfile.mkdtemp(prefix="labkit-codebuild-"))
    source_dir = workdir / "src"
    source_dir.mkdir()
    failed = False
    try:
        _phase(build, log, "QUEUED", lambda: None)
        _phase(build, log, "PROVISIONING", lambda: None)
        specs: list[buildspec.Buildspec] = []
        if _phase(build, log, "DOWNLOAD_SOURCE", lambda: specs.append(_download(build, source_dir))):
            failed = not _build_phases(build, log, specs[0], source_dir, workdir)
        else:
            failed = True
        _phase(build, log, "FINALIZING", lambda: None)
    finally:
        _end_what_is_left(build)
        shutil.rmtree(workdir, ignore_errors=True)
    status = "STOPPED" if build.stopped.is_set() else "FAILED" if failed else "SUCCEEDED"
    now = timestamps.now()
    with build.lock:
        record["phases"].append({"phaseType": "COMPLETED", "startTime": now})
        record.update(currentPhase="COMPLETED", buildStatus=status, endTime=now, buildComplete=True)
    log.line(f"Phase complete: FINALIZING State: {'SUCCEEDED' if not failed else 'FAILED'}")
    log.flush()


def _end_what_is_left(build: Build) -> None:
    """The container goes at the end of a build on AWS, and what ran in it: here each command's group."""
    for group in build.process_groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            continue  # the group ended with its command
        _reap(group)


def _reap(group: int) -> None:
    """Collects what was killed, where the local cloud is their subreaper (they became its children when
    their shell exited): otherwise they would stay as zombies while it runs."""
    deadline = time.monotonic() + REAP_WITHIN_S
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-group, os.WNOHANG)
        except ChildProcessError:
            return  # none of the group is the local cloud's child (any more)
        if pid == 0:
            time.sleep(0.02)  # killed, not yet dead


def _build_phases(build: Build, log, spec: buildspec.Buildspec, source_dir: Path, workdir: Path) -> bool:
    """INSTALL to UPLOAD_ARTIFACTS; True when every phase succeeded."""
    shell = _Shell(spec.shell, source_dir, workdir, _environment(build, spec, source_dir), build, log)
    failed = False
    for name in buildspec.PHASES:
        phase = spec.phases.get(name)
        shell.succeeding = not failed
        if _phase(build, log, name.upper(), lambda p=phase: shell.run_phase(p)):
            continue
        failed = True
        aborts = phase is None or phase.on_failure != "CONTINUE"
        if aborts and name in ("install", "pre_build"):
            return False  # straight to FINALIZING: no build, no artifacts
    return _phase(build, log, "UPLOAD_ARTIFACTS", lambda: _upload(build, spec, source_dir)) and not failed


def _phase(build: Build, log, phase_type: str, body: Callable[[], None]) -> bool:
    """Runs one phase and records it as BatchGetBuilds reports it; False when it failed."""
    record = build.record
    started, start_time = time.monotonic(), timestamps.now()
    # The phase in progress is listed without a status until it ends, as CodeBuild lists it.
    entry = {"phaseType": phase_type, "startTime": start_time}
    with build.lock:
        record["phases"].append(entry)
        record["currentPhase"] = phase_type
    log.line(f"Entering phase {phase_type}")
    status, context = "SUCCEEDED", {"statusCode": "", "message": ""}
    if build.stopped.is_set():
        status, context = "STOPPED", {"statusCode": "BUILD_STOPPED", "message": "Build was stopped"}
    else:
        try:
            body()
        except PhaseFailed as failure:
            status, context = "FAILED", {"statusCode": failure.status_code, "message": failure.message}
            if build.stopped.is_set():
                status = "STOPPED"
    with build.lock:
        entry.update(
            phaseStatus=status,
            endTime=timestamps.now(),
            durationInSeconds=int(time.monotonic() - started),
            contexts=[context],
        )
    log.line(f"Phase complete: {phase_type} State: {status}")
    log.line(f"Phase context status code: {context['statusCode']} Message: {context['message']}")
    return status == "SUCCEEDED"


def _download(build: Build, source_dir: Path) -> buildspec.Buildspec:
    try:
        source = build.fetch_source()
    except Exception as error:
        raise PhaseFailed("CLIENT_ERROR", f"error while downloading source: {error}") from error
    if source is not None:
        try:
            with zipfile.ZipFile(io.BytesIO(source)) as archive:
                archive.extractall(source_dir)
        except zipfile.BadZipFile as error:
            raise PhaseFailed("CLIENT_ERROR", "source is not a zip file") from error
    text = build.project["source"].get("buildspec") or "buildspec.yml"
    if "\n" not in text and not text.lstrip().startswith("version"):
        path = source_dir / text
        if not path.is_file():
            raise PhaseFailed("YAML_FILE_ERROR", f"YAML file does not exist: {text}")
        text = path.read_text()
    try:
        return buildspec.parse(text)
    except buildspec.InvalidBuildspec as invalid:
        raise PhaseFailed("YAML_FILE_ERROR", str(invalid)) from invalid


def _environment(build: Build, spec: buildspec.Buildspec, source_dir: Path) -> dict[str, str]:
    record = build.record
    declared = (build.project.get("environment", {}).get("environmentVariables") or []) + build.variable_overrides
    project_variables = {v["name"]: v["value"] for v in declared if v.get("type", "PLAINTEXT") == "PLAINTEXT"}
    python_bin = str(Path(sys.executable).parent)
    return {
        "PATH": f"{python_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "AWS_REGION": build.region,
        "AWS_DEFAULT_REGION": build.region,
        "AWS_ENDPOINT_URL": build.endpoint,
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
        "CODEBUILD_BUILD_ID": record["id"],
        "CODEBUILD_BUILD_ARN": record["arn"],
        "CODEBUILD_BUILD_NUMBER": str(record["buildNumber"]),
        "CODEBUILD_INITIATOR": record["initiator"],
        "CODEBUILD_SRC_DIR": str(source_dir),
        "CODEBUILD_SOURCE_VERSION": record.get("sourceVersion", ""),
        "CODEBUILD_BUILD_SUCCEEDING": "1",
        **build.credentials,
        **spec.variables,
        **project_variables,  # the project's variables override the buildspec's, as on AWS
    }


class _Shell:
    """One shell session, as CodeBuild keeps for a whole build: each command starts where the last one
    left (its directory, its exported variables)."""

    def __init__(self, shell: str, source_dir: Path, workdir: Path, env: dict, build: Build, log):
        self.shell = shutil.which(shell) or "/bin/sh"
        self.cwd_file, self.env_file = workdir / "cwd", workdir / "env"
        self.cwd_file.write_text(str(source_dir))
        self.env_file.write_text("")
        self.env, self.build, self.log = env, build, log
        self.succeeding = True
        self.timeout_s = 60 * (build.project.get("timeoutInMinutes") or DEFAULT_TIMEOUT_MINUTES)

    def run_phase(self, phase: buildspec.Phase | None) -> None:
        if phase is None:
            return
        failure = None
        for command in phase.commands:
            try:
                self._run(command)
            except PhaseFailed as failed:
                failure = failed
                break
        for command in phase.finally_commands:
            try:
                self._run(command)
            except PhaseFailed as failed:
                failure = failure or failed
        if failure is not None:
            raise failure

    def _run(self, command: str) -> None:
        if self.build.stopped.is_set():
            raise PhaseFailed("BUILD_STOPPED", "Build was stopped")
        self.log.line(f"Running command {command}")
        succeeding = "1" if self.succeeding else "0"  # after the carried variables, which hold the old value
        script = (
            f'cd "$(cat {self.cwd_file})" && . {self.env_file} && export CODEBUILD_BUILD_SUCCEEDING={succeeding}\n'
            f"{command}\n"
            f"__labkit_rc=$?; export -p > {self.env_file}; pwd > {self.cwd_file}; exit $__labkit_rc\n"
        )
        env = self.env
        process = subprocess.Popen(
            [self.shell, "-c", script],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.build.process = process
        self.build.process_groups.append(process.pid)
        # Read in a thread: a command that leaves a process in the background (a server for the tests)
        # returns while that process still holds the output open, as on CodeBuild.
        reader = threading.Thread(target=self._log_output, args=(process.stdout,), daemon=True)
        reader.start()
        try:
            code = process.wait(timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        finally:
            self.build.process = None
        reader.join(OUTPUT_GRACE_S)
        if code != 0:
            self.log.line(f"Command did not exit successfully {command} exit status {code}")
            raise PhaseFailed(
                "COMMAND_EXECUTION_ERROR", f"Error while executing command: {command}. Reason: exit status {code}"
            )

    def _log_output(self, output) -> None:
        for raw in output:
            self.log.output(raw.decode(errors="replace").rstrip("\n"))


def _upload(build: Build, spec: buildspec.Buildspec, source_dir: Path) -> None:
    if build.deliver_artifact is None:  # NO_ARTIFACTS
        return
    if spec.artifacts is None or not spec.artifacts.files:
        raise PhaseFailed("CLIENT_ERROR", "no matching artifact paths found")
    try:
        archive = artifacts.zipped(source_dir, spec.artifacts)
    except artifacts.NoMatchingPaths as missing:
        raise PhaseFailed("CLIENT_ERROR", str(missing)) from missing
    try:
        location = build.deliver_artifact(archive)
    except Exception as error:
        raise PhaseFailed("CLIENT_ERROR", f"error while uploading artifacts: {error}") from error
    with build.lock:
        build.record["artifacts"] = location
