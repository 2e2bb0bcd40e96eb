"""What sockets a process holds, read from /proc: to show that a process listens on nothing."""

import os
from dataclasses import dataclass
from pathlib import Path

_TCP_LISTEN = "0A"
_UNIX_ACCEPTCON = 0x10000


@dataclass(frozen=True)
class Socket:
    """One socket of the process: its table (tcp, udp6, unix...), state and local address."""

    table: str
    local: str
    state: str
    listening: bool


def _inodes(pid: int) -> set[str]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            found.add(target[len("socket:["):-1])
    return found


def sockets(pid: int) -> list[Socket]:
    """Every inet and unix socket the process has open."""
    inodes = _inodes(pid)
    found = []
    for table in ("tcp", "tcp6", "udp", "udp6"):
        lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if inode in inodes:
                # A bound UDP socket receives from anyone: count it as listening too.
                listening = state == _TCP_LISTEN if table.startswith("tcp") else True
                found.append(Socket(table, local, state, listening))
    for line in Path(f"/proc/{pid}/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[6] in inodes:
            flags = int(fields[3], 16)
            name = fields[7] if len(fields) > 7 else ""
            found.append(Socket("unix", name, fields[5], bool(flags & _UNIX_ACCEPTCON)))
    return found


def listening(pid: int) -> list[Socket]:
    """The sockets on which the process could accept connections or datagrams."""
    return [s for s in sockets(pid) if s.listening]
