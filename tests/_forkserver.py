"""Real ``planner`` processes for the CLI-contract tests, without paying the imports each time.

A contract such as "stdout holds exactly one JSON object" or "exit 2 and one line on stderr"
must be checked on a real process: a solver writing from C onto file descriptor 1, a warning
printed at interpreter exit or a traceback escaping ``main()`` never reach ``capsys``. A fresh
interpreter spends most of its second importing pandas, Pyomo and the planner, and the suite
starts about a hundred of them.

So each test worker starts ONE fork server: an interpreter that has imported the planner and its
heavy dependencies once (:data:`PRELOAD`) and then, per request, ``fork()``s a child. The child
is a real process with its own file descriptors 0/1/2 (``/dev/null``, and two files the test
reads back), its own working directory and environment, ``sys.argv`` as the console script sets
it, and it runs ``planner.cli.run()`` exactly as the installed ``planner`` script does (or a
given ``python -c`` program). It ends as the interpreter ends a program, up to the point where
anything can still be printed: the exit status from ``SystemExit`` (or 1 and the traceback for an
uncaught exception, through ``sys.excepthook``), non-daemon threads joined, the ``atexit``
handlers run (``logging.shutdown`` among them), Python's and C's stdio buffers flushed (a solver's
``printf`` still reaches fd 1); then ``os._exit``. What it skips is the module teardown after
that, which prints nothing a contract could see but takes 0.2-0.5 s of CPU in a process that has
imported pandas and Pyomo (measured: ``import pandas, pyomo.environ``, 0.19-0.22 s from the last
``atexit`` handler to the process's end), about a hundred times a run. What a fork server cannot
show is import-time behaviour and that teardown: the tests of start-up itself
(``tests/test_startup.py``), of ``python -m planner`` and of the installed wheel (whose
``size``, ``optimize``, ``report`` and ``project`` runs check stdout and stderr of a whole
process) still start fresh interpreters.

POSIX only (``os.fork``); elsewhere :func:`run` starts a fresh interpreter per call.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

#: Imported once in the server, before any fork: what most commands import.
PRELOAD = (
    "numpy",
    "pandas",
    "planner.cli._app",
    "planner.catalog",
    "planner.sizing",
    "planner.serving",
    "planner.quantities",
    "pyomo.environ",
    "highspy",
    "rich",
    # every command's module (the lazy CLI imports one per run; start-up has its own tests)
    "planner.cli.size",
    "planner.cli.serve",
    "planner.cli.optimize",
    "planner.cli.report",
    "planner.cli.project",
    "planner.cli.buildout",
    "planner.cli.sweep",
    "planner.cli.validate",
    "planner.cli.catalog",
)

_BIN = Path(sys.executable).parent
_SCRIPT = shutil.which("planner", path=str(_BIN))
#: The console script's first argument, as a user's shell passes it.
ARGV0 = _SCRIPT or "planner"

#: The planner's console-script entry (pyproject ``[project.scripts]``).
CONSOLE_SCRIPT = "import sys\nfrom planner.cli import run\nsys.exit(run())\n"

_SERVER = r"""
import json, os, select, signal, sys, time
sys.path[0] = os.environ.pop("PLANNER_FORKSERVER_PATH0")
for name in json.loads(os.environ.pop("PLANNER_FORKSERVER_PRELOAD")):
    try:
        __import__(name)
    except ImportError:
        pass
def exit_status(code):  # the status the interpreter gives SystemExit(code)
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    sys.stderr.write(str(code) + "\n")
    return 1


def end_process(status):  # the interpreter's end of a program up to module teardown
    import atexit, ctypes, threading
    threading._shutdown()  # join non-daemon threads, as Py_FinalizeEx does first
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            status = status or 120  # the interpreter's status when stdout cannot be flushed
    ctypes.CDLL(None).fflush(None)  # C stdio buffers (a solver's printf)
    os._exit(status)


requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
null = os.open(os.devnull, os.O_RDWR)
os.dup2(null, 0)
os.dup2(null, 1)
for line in requests:
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        requests.close()
        replies.close()
        os.chdir(req["cwd"])
        os.environ.clear()
        os.environ.update(req["env"])
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        os.dup2(os.open(req["stdout"], flags, 0o600), 1)
        os.dup2(os.open(req["stderr"], flags, 0o600), 2)
        os.dup2(null, 0)
        os.close(null)
        sys.argv = req["argv"]
        code = compile(req["code"], "<string>", "exec")
        del req, line, pid
        try:
            exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
            status = 0
        except SystemExit as stop:
            status = exit_status(stop.code)
        except BaseException:
            sys.excepthook(*sys.exc_info())
            status = 1
        end_process(status)
    deadline = time.monotonic() + req["timeout"]
    status, killed = None, False
    try:
        watch = os.pidfd_open(pid)
    except (AttributeError, OSError):
        watch = None
    while status is None:
        left = deadline - time.monotonic()
        if left <= 0 and not killed:
            os.kill(pid, signal.SIGKILL)
            killed = True
        if watch is not None:
            select.select([watch], [], [], max(left, 0.05))
        else:
            time.sleep(0.005)
        done, raw = os.waitpid(pid, os.WNOHANG)
        if done:
            status = os.waitstatus_to_exitcode(raw)
    if watch is not None:
        os.close(watch)
    replies.write(json.dumps({"returncode": status, "timed_out": killed}) + "\n")
    replies.flush()
"""


class _Server:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="planner-forkserver-"))
        env = dict(os.environ)
        env["PLANNER_FORKSERVER_PATH0"] = str(_BIN)
        env["PLANNER_FORKSERVER_PRELOAD"] = json.dumps(PRELOAD)
        self.log = open(self.folder / "server.log", "wb")  # noqa: SIM115 - kept open
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=env,
            text=True,
            encoding="utf-8",
        )
        self.count = 0

    def run(
        self, argv: list[str], code: str, cwd: Path, env: Mapping[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        self.count += 1
        out = self.folder / f"{self.count}.out"
        err = self.folder / f"{self.count}.err"
        request = {
            "argv": argv,
            "cwd": str(cwd),
            "env": dict(env),
            "code": code,
            "stdout": str(out),
            "stderr": str(err),
            "timeout": timeout,
        }
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            raise RuntimeError(f"the fork server died; see {self.folder / 'server.log'}")
        answer = json.loads(reply)
        stdout = _read_text(out)
        stderr = _read_text(err)
        out.unlink()
        err.unlink()
        if answer["timed_out"]:
            raise subprocess.TimeoutExpired(argv, timeout, stdout, stderr)
        return subprocess.CompletedProcess(argv, answer["returncode"], stdout, stderr)

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _read_text(path: Path) -> str:
    """As ``subprocess.run(text=True)`` decodes: the locale's encoding, universal newlines."""
    with open(path, encoding=None, newline=None) as f:
        return f.read()


_server: _Server | None = None


def _get_server() -> _Server:
    global _server
    if _server is None or _server.proc.poll() is not None:
        _server = _Server()
        atexit.register(_server.close)
    return _server


def run(
    args: Sequence[str],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
    code: str = CONSOLE_SCRIPT,
    argv0: str = ARGV0,
) -> subprocess.CompletedProcess[str]:
    """``planner ARGS`` (or ``python -c CODE ARGS``) as a real process; stdin is ``/dev/null``,
    stdout and stderr are captured as text, as ``subprocess.run(capture_output=True,
    text=True)`` returns them."""
    argv = [argv0, *args]
    cwd = Path(cwd) if cwd is not None else Path.cwd()
    env = dict(os.environ if env is None else env)
    if not hasattr(os, "fork"):
        command = [sys.executable, "-c", code, *args]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    return _get_server().run(argv, code, cwd, env, timeout)
