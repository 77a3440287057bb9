"""A throw-away PostgreSQL server for tests: Debian's ``postgresql`` package, a cluster made with
``initdb`` in a temporary folder, started with ``pg_ctl`` as an unprivileged account (the
``postgres`` account when the tests run as root), reachable only on a Unix socket in that folder
(no TCP port), stopped and removed at the end."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_owner(argv, user):
    if user is None:
        return argv
    return ["runuser", "-u", user, "--", *argv]


@contextlib.contextmanager
def postgres_server(dbname="gradebook"):
    """Yield a SQLAlchemy URL ``postgresql://USER@/DB?host=SOCKETDIR`` of a fresh, empty database."""
    bindir = pg_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    user = None
    if os.geteuid() == 0:  # initdb refuses root
        user = "postgres"
        try:
            pwd.getpwnam(user)
        except KeyError as exc:
            raise RuntimeError("no 'postgres' account to run the server as "
                               "(Debian's postgresql package makes it)") from exc
    base = Path(tempfile.mkdtemp(prefix="pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if user is not None:
        shutil.chown(base, user)
        shutil.chown(sock, user)
    base.chmod(0o755)
    owner = user or pwd.getpwuid(os.geteuid()).pw_name
    run = dict(capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    try:
        proc = subprocess.run(_as_owner([str(bindir / "initdb"), "-D", str(data), "-U", owner, "--auth=trust",
                                         "--no-sync", "-E", "UTF8", "--locale=C"], user), **run)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        options = f"-c listen_addresses='' -c unix_socket_directories={sock} -c fsync=off -c max_connections=60"
        proc = subprocess.run(_as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                                         str(base / "server.log"), "-w", "start"], user), **run)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:] + (base / "server.log").read_text()
        proc = subprocess.run([str(bindir / "createdb"), "-h", str(sock), "-U", owner, dbname], **run)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        yield f"postgresql://{owner}@/{dbname}?host={sock}"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(_as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                                     user), **run)
        shutil.rmtree(base, ignore_errors=True)
