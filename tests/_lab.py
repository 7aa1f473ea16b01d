"""Start and stop a private JupyterLab for the browser test: loopback port, temporary token, temporary folders.

``start_lab(home)`` runs ``python -m jupyterlab`` (the test's own interpreter, i.e. ``.venv``, or another one
given as ``python=``, such as a venv holding JupyterLab 3 with ``lab3=True``) with its root, config, data, runtime,
settings and workspaces folders all under ``home``, so the user's Jupyter setup is neither read nor touched, and
nothing tries to reach the network (no news, no update check, no PyPI extension manager). ``stop_lab`` shuts it
down with its kernels in every case, within bounded waits.
Every process it starts has ``home`` on its command line (the kernels through their connection files), which
is how ``processes_mentioning(home)`` finds leftovers.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

# JupyterLab user settings: every cell stays in the DOM (no windowing), and no news or update checks.
NO_NEWS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                               "checkForUpdates": False}}
LAB_SETTINGS = {"@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"}, **NO_NEWS}
# JupyterLab 3 keeps every cell in the DOM and has no windowing setting (its schema refuses one); its extension
# manager (which searches npm from the page) is switched off here, JupyterLab 4's on the command line.
LAB3_SETTINGS = {"@jupyterlab/extensionmanager-extension/plugin.jupyterlab-settings": {"enabled": False}, **NO_NEWS}


@dataclass
class Lab:
    """A running JupyterLab: its process, where it listens, and its folders."""

    process: subprocess.Popen
    port: int
    token: str
    home: Path  # everything it writes lives under here
    root: Path  # the folder it serves (notebooks go here)
    log: Path  # its stdout and stderr

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def lab_url(self, notebook: str) -> str:
        """The URL that opens ``notebook`` (relative to ``root``) in JupyterLab, logged in with the token."""
        return f"{self.base_url}/lab/tree/{notebook}?token={self.token}"

    def api(self, path: str, *, timeout: float = 10) -> Any:
        """GET ``/api/<path>`` and return the decoded JSON."""
        request = urllib.request.Request(f"{self.base_url}/api/{path}",
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the server's log."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError as err:
            return f"(no log: {err})"


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lab_environment(home: Path) -> dict[str, str]:
    """The server's environment: ours (TPVIZ_WEIGHTS_DIR etc. pass through) in fast mode, Jupyter's folders
    under ``home``."""
    env = dict(os.environ)
    folders = {"JUPYTER_CONFIG_DIR": "config", "JUPYTER_DATA_DIR": "data", "JUPYTER_RUNTIME_DIR": "runtime",
               "JUPYTERLAB_SETTINGS_DIR": "lab-settings", "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
               "IPYTHONDIR": "ipython"}
    for var, name in folders.items():
        (home / name).mkdir(parents=True, exist_ok=True)
        env[var] = str(home / name)
    env.pop("JUPYTER_TOKEN", None)
    env["TPVIZ_FAST"] = "1"
    return env


def write_lab_settings(settings_dir: Path, settings: dict[str, dict] = LAB_SETTINGS) -> None:
    """Write ``settings`` (default ``LAB_SETTINGS``) into a JupyterLab user-settings folder."""
    for name, values in settings.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


# No news, no update checks; and JupyterLab 4's read-only extension manager (JupyterLab 3 has no such switch, and
# its server does not load the lab extension when given one).
OFFLINE = ["--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
LAB4_OFFLINE = ["--LabApp.extension_manager=readonly"]


def start_lab(home: Path, *, python: str | Path = sys.executable, lab3: bool = False,
              env: dict[str, str] | None = None, timeout: float = 120) -> Lab:
    """Start JupyterLab serving ``home/root`` on a free loopback port; return once its API answers.

    ``python``: the interpreter that runs JupyterLab (and, through its default kernel, the notebooks);
    ``lab3``: it is JupyterLab 3 (``LAB3_SETTINGS``, no ``LAB4_OFFLINE`` switch); ``env``: variables added
    to the server's (and its kernels') environment. Raises ``RuntimeError`` (with the log's tail) when it exits
    or does not answer within ``timeout`` s; the process is stopped first.
    """
    root = home / "root"
    root.mkdir(parents=True, exist_ok=True)
    env = {**lab_environment(home), **(env or {})}
    write_lab_settings(Path(env["JUPYTERLAB_SETTINGS_DIR"]), LAB3_SETTINGS if lab3 else LAB_SETTINGS)
    port, token = free_port(), secrets.token_hex(16)
    command = [
        str(python), "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--ServerApp.terminals_enabled=False", "--ServerApp.allow_root=True",
        *OFFLINE, *([] if lab3 else LAB4_OFFLINE),
        # A safety net should this process be killed before it can stop the server: an idle kernel is
        # culled after 10 minutes, and the server then exits after 10 minutes without activity.
        "--MappingKernelManager.cull_idle_timeout=600", "--MappingKernelManager.cull_interval=60",
        "--ServerApp.shutdown_no_activity_timeout=600",
    ]
    log = home / "jupyterlab.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    lab = Lab(process=process, port=port, token=token, home=home, root=root, log=log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stop_lab(lab)
            raise RuntimeError(f"JupyterLab exited with code {process.returncode} while starting; "
                               f"its log ends with:\n{lab.log_tail()}")
        try:
            lab.api("status", timeout=2)
            return lab
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
            time.sleep(0.5)
    stop_lab(lab)
    raise RuntimeError(f"JupyterLab did not answer on port {port} within {timeout:g} s; "
                       f"its log ends with:\n{lab.log_tail()}")


def stop_lab(lab: Lab, *, timeout: float = 20) -> None:
    """Stop the server and everything it started (kernels included): SIGTERM, then SIGKILL after ``timeout`` s.

    The server shuts its kernels down on SIGTERM. Kernels run in their own process groups, so they are
    collected (children of the server, and any process naming ``lab.home``) and killed too if they linger.
    """
    processes = _descendants(lab.process.pid)  # before the server exits and they lose their parent
    if lab.process.poll() is None:
        try:
            os.killpg(lab.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            lab.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    kill_processes(processes + processes_mentioning(lab.home), timeout=timeout)
    try:
        os.killpg(lab.process.pid, signal.SIGKILL)  # anything left in the server's own group
    except (ProcessLookupError, PermissionError):
        pass
    try:
        lab.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        lab.process.kill()
        lab.process.wait(timeout=timeout)


def process_group_alive(pgid: int) -> bool:
    """Whether any process is left in process group ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def processes_mentioning(marker: str | Path) -> list[psutil.Process]:
    """Running processes (other than zombies) whose command line contains ``marker``."""
    marker, found = str(marker), []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or ())
            if marker in cmdline and proc.info["status"] != psutil.STATUS_ZOMBIE and proc.pid != os.getpid():
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def kill_processes(processes: list[psutil.Process], *, timeout: float = 10) -> None:
    """Terminate ``processes``, then kill those still running after ``timeout`` s."""
    alive = [p for p in {p.pid: p for p in processes}.values() if _running(p)]
    for proc in alive:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(alive, timeout=timeout)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=timeout)


def wait_gone(marker: str | Path, *, timeout: float = 10) -> list[psutil.Process]:
    """Wait up to ``timeout`` s for every process naming ``marker`` to exit; return those left."""
    deadline = time.monotonic() + timeout
    left = processes_mentioning(marker)
    while left and time.monotonic() < deadline:
        time.sleep(0.25)
        left = processes_mentioning(marker)
    return left


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
