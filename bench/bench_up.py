"""How long `labkit up` takes to a ready local cloud, and the first calls after it.

Each round starts a fresh local cloud (private state folder, free port) with the `labkit` command, the
way a learner does, and times from launching the command to its exit (the cloud then answers), then one
SQS call right after, and one more a second later (once the background warm-up is done).
Writes a Markdown table to bench/results/up.md and prints it. Target (bench/README.md): under 2 s.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from labkit.proc import free_port

ROUNDS = 7
LABKIT = [sys.executable, "-m", "labkit.cli"]
FIRST_CALL = (
    "import time, boto3; c = boto3.client('sqs', endpoint_url='{endpoint}', region_name='us-east-1',"
    " aws_access_key_id='x', aws_secret_access_key='x'); c.list_queues(); t = time.perf_counter();"
    " c.list_queues(); print((time.perf_counter() - t) * 1000)"
)


def one_round() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as state:
        port = free_port()
        env = {**os.environ, "LABKIT_STATE_DIR": state, "LABKIT_PORT": str(port)}
        started = time.perf_counter()
        subprocess.run([*LABKIT, "up"], env=env, check=True, capture_output=True)
        up_seconds = time.perf_counter() - started
        try:
            time.sleep(1.0)
            call = subprocess.run(
                [sys.executable, "-c", FIRST_CALL.format(endpoint=f"http://127.0.0.1:{port}")],
                check=True,
                capture_output=True,
                text=True,
            )
            warm_call_ms = float(call.stdout)
        finally:
            subprocess.run([*LABKIT, "down"], env=env, check=True, capture_output=True)
        return up_seconds, warm_call_ms


def main() -> None:
    rounds = [one_round() for _ in range(ROUNDS)]
    ups = sorted(r[0] for r in rounds)
    calls = sorted(r[1] for r in rounds)
    table = "\n".join(
        [
            f"`labkit up` to ready, {ROUNDS} fresh starts ({os.cpu_count()} cores), {time.strftime('%Y-%m-%d')}",
            "",
            "| measure | p50 | max | target |",
            "|---|---|---|---|",
            f"| `labkit up` to ready (s) | {statistics.median(ups):.2f} | {ups[-1]:.2f} | < 2 |",
            f"| SQS ListQueues after start (ms) | {statistics.median(calls):.1f} | {calls[-1]:.1f} | |",
        ]
    )
    out = Path(__file__).parent / "results" / "up.md"
    out.write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
