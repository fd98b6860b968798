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


@pytest.mark.parametrize(
    "env,gateway,notifier,public_notifier",
    [
        ({}, "http://127.0.0.1:8001", "http://127.0.0.1:8010", "ws://127.0.0.1:8010"),
        ({"GATEWAY_PORT": "18001"}, "http://127.0.0.1:18001", "http://127.0.0.1:8010", "ws://127.0.0.1:8010"),
        ({"NOTIFIER_PORT": "18010"}, "http://127.0.0.1:8001", "http://127.0.0.1:18010", "ws://127.0.0.1:18010"),
        ({"BIND_HOST": "0.0.0.0", "GATEWAY_PORT": "9001"}, "http://127.0.0.1:9001", "http://127.0.0.1:8010",
         "ws://127.0.0.1:8010"),
        ({"BIND_HOST": "::"}, "http://127.0.0.1:8001", "http://127.0.0.1:8010", "ws://127.0.0.1:8010"),
        ({"BIND_HOST": "::1"}, "http://[::1]:8001", "http://[::1]:8010", "ws://[::1]:8010"),
        ({"BIND_HOST": "10.1.2.3"}, "http://10.1.2.3:8001", "http://10.1.2.3:8010", "ws://10.1.2.3:8010"),
        ({"GATEWAY_PORT": "18001", "PUBLIC_GATEWAY_URL": "https://api.example", "NOTIFIER_URL": "http://n:1",
          "PUBLIC_NOTIFIER_URL": "wss://ws.example"}, "https://api.example", "http://n:1", "wss://ws.example"),
    ],
)
def test_public_urls_follow_bind_address_and_ports_unless_set(
    env: dict[str, str], gateway: str, notifier: str, public_notifier: str
) -> None:
    s = load_settings(env)
    assert (s.public_gateway_url, s.notifier_url, s.public_notifier_url) == (gateway, notifier, public_notifier)


def test_readme_says_how_public_urls_are_derived() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "| `PUBLIC_GATEWAY_URL` | `http://<BIND_HOST>:<GATEWAY_PORT>` |" in readme
