"""Which process opened a connection on 127.0.0.1: the socket's inode from /proc/net/tcp (the line whose local
end is the peer's port and remote end the port it connected to), then the process, among the candidates, that
holds a descriptor of that socket. Linux only; elsewhere no process is ever found."""

import os

_LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it (little-endian)


def owner(peer_port: int, local_port: int, candidates) -> int | None:
    """The candidate pid holding the client end of the connection from peer_port to local_port, or None."""
    inode = _socket_inode(peer_port, local_port)
    if inode is None:
        return None
    wanted = f"socket:[{inode}]"
    for pid in candidates:
        if _holds(pid, wanted):
            return pid
    return None


def _socket_inode(peer_port: int, local_port: int) -> str | None:
    local, remote = f"{_LOOPBACK_HEX}:{peer_port:04X}", f"{_LOOPBACK_HEX}:{local_port:04X}"
    try:
        with open("/proc/net/tcp") as table:
            next(table)  # the header
            for line in table:
                fields = line.split()
                if fields[1] == local and fields[2] == remote:
                    return fields[9]
    except OSError:
        return None
    return None


def _holds(pid: int, wanted: str) -> bool:
    directory = f"/proc/{pid}/fd"
    try:
        descriptors = os.listdir(directory)
    except OSError:  # exited
        return False
    for descriptor in descriptors:
        try:
            if os.readlink(f"{directory}/{descriptor}") == wanted:
                return True
        except OSError:
            continue
    return False
