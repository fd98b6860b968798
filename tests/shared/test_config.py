"""Configuration: one reader of the environment, every variable documented in the README."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shared.config import ConfigError, documented_variables, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_and_overrides() -> None:
    s = load_settings({})
    assert s.gateway_port == 8001 and s.notifier_port == 8010 and s.auth_mode == "open"
    s = load_settings({"GATEWAY_PORT": "9000", "FETCH_TIMEOUT_SECONDS": "2.5", "FETCH_ALLOW_PRIVATE_HOSTS": "a, b"})
    assert s.gateway_port == 9000 and s.fetch_timeout_seconds == 2.5 and s.fetch_allow_list == ("a", "b")


@pytest.mark.parametrize("env", [{"GATEWAY_PORT": "eighty"}, {"AUTH_MODE": "maybe"},
                                 {"MODERATION_PROVIDER": "oracle"}, {"EVENT_LOOP": "trio"},
                                 {"REDIS_PARSER": "fast"}, {"NOTIFIER_PROCESSES": "0"}])
def test_bad_values_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        load_settings(env)


def test_readme_documents_every_variable() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [name for name, _, _ in documented_variables() if f"`{name}`" not in readme]
    assert not missing, f"README lacks {missing}"


def test_only_config_reads_the_environment() -> None:
    hits = subprocess.run(
        ["grep", "-rlE", "--include=*.py", r"os\.environ|os\.getenv", "gateway", "notifier", "imaging", "shared"],
        cwd=ROOT, capture_output=True, text=True,
    ).stdout.split()
    # redis_server.py and serving.py pass the environment on to their child processes
    allowed = {"shared/config.py", "devtools/redis_server.py", "shared/serving.py"}
    assert set(hits) <= allowed, set(hits) - allowed
