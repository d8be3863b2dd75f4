"""`make lab`: JupyterLab starts on notebooks/, prints its URL and serves the notebooks."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_url(server: subprocess.Popen, log: Path, port: int) -> str:
    pattern = rf"http://127\.0\.0\.1:{port}/lab\?token=(\w+)"
    for _ in range(240):
        match = re.search(pattern, log.read_text())
        if match:
            return match.group(1)
        assert server.poll() is None, f"make lab exited early:\n{log.read_text()[-3000:]}"
        time.sleep(0.5)
    raise AssertionError(f"no URL printed within 2 minutes:\n{log.read_text()[-3000:]}")


def test_make_lab_serves_the_notebooks(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path), "JUPYTER_CONFIG_DIR": str(tmp_path)}
    log = tmp_path / "lab.log"
    with log.open("w") as handle:
        server = subprocess.Popen(
            ["make", "lab", f"PORT={port}"],
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        token = _wait_for_url(server, log, port)
        url = f"http://127.0.0.1:{port}/api/contents?token={token}"
        with urllib.request.urlopen(url, timeout=30) as reply:
            names = {item["name"] for item in json.load(reply)["content"]}
        assert "00_data_tour.ipynb" in names
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
