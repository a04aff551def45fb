"""A real `tessera serve` process on a random port with a fresh data directory."""

import json
import os
import queue
import subprocess
import threading
from pathlib import Path

import pytest
import requests


def tessera_binary() -> str:
    if os.environ.get("TESSERA_BIN"):
        return os.environ["TESSERA_BIN"]
    target = os.environ.get("CARGO_TARGET_DIR", str(Path(__file__).resolve().parents[2] / "target"))
    return str(Path(target) / "debug" / "tessera")


class Tessera:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
        self.process = None
        self.issuer = None

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [tessera_binary(), "--data-dir", str(self.data_dir), *args],
            capture_output=True, text=True, env=self.env, timeout=60,
        )
        assert result.returncode == 0, f"tessera {args} failed: {result.stderr}"
        return result.stdout

    def cli_json(self, *args: str) -> dict:
        return json.loads(self.cli(*args, "--output", "json"))

    def start(self) -> None:
        self.process = subprocess.Popen(
            [tessera_binary(), "--data-dir", str(self.data_dir), "serve", "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=self.env,
        )
        lines: "queue.Queue[str]" = queue.Queue()

        def pump() -> None:
            for line in self.process.stdout:
                lines.put(line)

        threading.Thread(target=pump, daemon=True).start()
        while self.issuer is None:
            line = lines.get(timeout=30)
            if line.strip().startswith("issuer:"):
                self.issuer = line.split("issuer:", 1)[1].strip()

    def metadata(self) -> dict:
        response = requests.get(f"{self.issuer}/.well-known/oauth-authorization-server", timeout=10)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def tessera(tmp_path: Path):
    server = Tessera(tmp_path / "data")
    server.cli("scope", "add", "contact.read", "--description", "Read contacts")
    server.start()
    yield server
    server.stop()
