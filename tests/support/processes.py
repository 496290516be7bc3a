"""Processes the local cloud runs (tasks, Lambda workers), seen from a test."""

from pathlib import Path


def exited(pid: int) -> bool:
    """The process is gone or a zombie: the kernel has closed its sockets. A signal is delivered a moment
    after os.kill returns; what a test asserts about a killed process holds from then on."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:  # gone before or while /proc was read (ENOENT, ESRCH)
        return True
