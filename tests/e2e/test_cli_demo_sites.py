"""`yunzhang demo` with the demo business systems: it says where to start, registers both demo
systems with their webhooks pointing at the demo sites, and a second run changes nothing. The
demo sites are refused outside development mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_cli import make_cli
from yunzhang.config import load_settings
from yunzhang.errors import ConfigurationError


def test_the_demo_points_at_the_demo_sites_and_seeds_both_systems(blank_database_url: str,
                                                                  tmp_path: Path) -> None:
    cli = make_cli(tmp_path, blank_database_url)
    first = cli("demo", "--no-serve")
    assert first.returncode == 0, first.stderr
    assert "http://127.0.0.1:8000/demo/" in first.stdout
    assert "demo.social-insurance, client secret demo-social-insurance-client-secret" in \
        first.stdout
    listed = cli("rp", "list").stdout
    assert "webhook: http://127.0.0.1:8000/demo/bidding/webhooks" in listed
    assert "webhook: http://127.0.0.1:8000/demo/social-insurance/webhooks" in listed
    assert "hr.social_insurance" in listed
    again = cli("demo", "--no-serve")
    assert again.returncode == 0 and "already seeded" in again.stdout
    assert cli("rp", "list").stdout == listed
    # A webhook the operator changed is kept by a later run.
    assert cli("rp", "set-webhook", "demo.bidding", "--url",
               "http://localhost:9000/hooks").returncode == 0
    assert cli("demo", "--no-serve").returncode == 0
    assert "webhook: http://localhost:9000/hooks" in cli("rp", "list").stdout


def test_the_demo_sites_are_refused_in_production() -> None:
    with pytest.raises(ConfigurationError, match="YUNZHANG_DEMO_SITES is for development only"):
        load_settings(env="production", demo_sites=True)
    assert not load_settings(env="development").demo_sites  # off unless asked for
