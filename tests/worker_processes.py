"""Session worker processes as the operating system sees them, and the internet they dial.

Every dial of a real neonize worker goes to ``Proxy``, an HTTPS proxy on loopback
(whatsmeow honours HTTPS_PROXY) that never answers — or that hangs up at once, for
sessions that must keep redialling — so nothing leaves the machine.
"""

import contextlib
import os
import socket
import threading
import time
from collections import Counter
from pathlib import Path


class Proxy:
    """A loopback listener standing in for the internet: ``hold`` keeps each connection
    open and silent (a dial that hangs), ``hang_up`` closes it at once (a dial that
    fails, so the session redials)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            if self.mode == "hold":
                self.held.append(connection)
            else:
                connection.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)
        self.server.close()
        for connection in self.held:
            connection.close()


def worker_processes() -> list[tuple[int, str, int]]:
    """(pid, session id, parent runner pid) of every session worker process that exists
    and is not a zombie — running, or stopped (SIGSTOP): a stopped worker still holds its
    socket to WhatsApp."""
    found: list[tuple[int, str, int]] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if b"sessions_app.worker" not in argv or stat.rsplit(")", 1)[1].split()[0] == "Z":
            continue
        args = [arg.decode() for arg in argv]
        session = args[args.index("--session") + 1]
        found.append((int(entry.name), session, int(args[args.index("--parent") + 1])))
    return found


def workers_of(runner_pid: int) -> dict[str, int]:
    """Session id → pid of each live worker process of this runner (as ``ps`` sees them:
    the session id is on the command line)."""
    return {session: pid for pid, session, parent in worker_processes() if parent == runner_pid}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Census:
    """Counts, every 0.1 s until stopped, the worker processes of each session across
    every runner on this machine: ``overlaps`` lists each sample in which a session had
    more than one (with their pids and runners)."""

    def __init__(self, session_ids: set[str], interval: float = 0.1) -> None:
        self.session_ids = session_ids
        self.interval = interval
        self.samples = 0
        self.overlaps: list[dict[str, list[tuple[int, int]]]] = []
        self.seen: dict[str, set[int]] = {session_id: set() for session_id in session_ids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            processes = [p for p in worker_processes() if p[1] in self.session_ids]
            counts = Counter(session for _, session, _ in processes)
            doubled = {
                session: [(pid, parent) for pid, s, parent in processes if s == session]
                for session, count in counts.items()
                if count > 1
            }
            if doubled:
                self.overlaps.append(doubled)
            for pid, session, _ in processes:
                self.seen[session].add(pid)
            self.samples += 1
            time.sleep(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
