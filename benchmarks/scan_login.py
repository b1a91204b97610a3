"""Benchmark of the full scan login (扫码登录) through the OpenID Connect provider, on PostgreSQL.

Run ``.venv/bin/python benchmarks/scan_login.py`` with PostgreSQL on 127.0.0.1
(``YUNZHANG_BENCH_PG_URL``, default ``postgresql://postgres@127.0.0.1:5432/postgres``). It
creates a database of its own (``yunzhang_bench_login_<pid>_<hex>``), migrates it, seeds the
demo enterprise (PKI, people, e-license) and a business system ``bench.portal``, starts the real
server (``yunzhang serve``, one process, as deployed) on a free port, and drives complete logins
from concurrent clients. One login is every request a real one makes:

1. the browser opens ``/oidc/authorize`` (PKCE S256, state, nonce): the page with the QR code;
2. the wallet reads the scan session, scans and confirms it with the e-license, each step
   signed by its device key (ECDSA P-256, the key unlocked once beforehand: the argon2id
   unlock is the phone's cost, not the server's);
3. the page asks ``/oidc/authorize/{id}/wait`` and learns ``confirmed`` and where to go: the
   business system's redirect URI with the code (consent was given once, before);
4. the business system exchanges the code for tokens at ``/oidc/token`` (HTTP Basic) and
   checks that an ID token came back.

Printed, side by side with Keycloak's published sizing (15 password logins/s per vCPU, its
"Concepts for sizing CPU and memory usage" guide) and the target of DESIGN.md (>= 150 logins/s
per vCPU of the server, p99 < 100 ms): logins per second of wall time; logins per second per
server CPU (logins divided by the CPU seconds, user + system, the server process used during
the timed run, read from /proc); PostgreSQL's CPU seconds per login (its backends and
background processes, also from /proc) for the whole picture; p50/p99 of one whole login as a
client sees it. The clients run in this process on the same machine, so they compete with the
server for cores: the per-CPU figure is the fair one. Run it on a quiet machine.

The database is dropped at the end, also on failure.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import create_engine, text

from yunzhang.adapters.db import migrate
from yunzhang.bootstrap import build_container
from yunzhang.config import load_settings
from yunzhang.domain.devices import enrollment_message
from yunzhang.domain.scan_sessions import WalletStep, shown_digest, step_message
from yunzhang.services import business_systems, devices, licenses
from yunzhang.services.context import Caller
from yunzhang.services.demo import seed_demo

KEYCLOAK_PER_VCPU = 15.0  # password logins/s per vCPU, Keycloak's sizing guide
TARGET_PER_VCPU, TARGET_P99_MS = 150.0, 100.0
PG_URL = os.environ.get("YUNZHANG_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CLIENT_ID, REDIRECT = "bench.portal", "http://127.0.0.1:9/callback"
SECRET = "bench-portal-client-secret-0123456789abcdef"
OPERATOR = Caller(actor="operator")
# The requests of one login, by the last part of their path (a scan session's id: the wallet's
# read of it).
STEPS = {"/oidc/authorize": "authorize", "scan": "scan", "confirm": "confirm", "wait": "wait",
         "/oidc/token": "token", "done": "done", "consent": "consent"}


@contextmanager
def database() -> Iterator[str]:
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"yunzhang_bench_login_{os.getpid()}_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Setup:
    device_id: str
    key: ec.EllipticCurvePrivateKey
    license_id: str


def seed(url: str, data_dir: str, base: str) -> Setup:
    """The demo enterprise and its legal representative's wallet: a device key enrolled, the
    e-license downloaded for it; the business system registered."""
    c = build_container(load_settings(env="development", database_url=url,
                                      data_dir=Path(data_dir), public_url=base))
    migrate.upgrade(c.engine)
    demo = seed_demo(caller=OPERATOR, uow=c.uow, keyring=c.keyring, passwords=c.passwords,
                     clock=c.clock, settings=c.settings, scopes=c.scopes, keys=c.keys,
                     factory=c.x509, artist=c.artist)
    business_systems.register(business_systems.RegisterSystem(
        CLIENT_ID, "基准测试门户 bench portal", ["ecommerce.bidding"], [REDIRECT], secret=SECRET),
        caller=OPERATOR, uow=c.uow, clock=c.clock, keyring=c.keyring, scopes=c.scopes)
    with c.uow() as tx:
        rep = tx.persons.by_phone(demo.people[0].phone)
        assert rep is not None
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    device = devices.enroll_device(
        devices.EnrollDevice(rep.id, "bench phone", public,
                             key.sign(enrollment_message(rep.id, public),
                                      ec.ECDSA(hashes.SHA256()))),
        caller=OPERATOR, uow=c.uow, clock=c.clock, device_keys=c.device_keys)
    held = licenses.download(licenses.DownloadLicense(rep.id, demo.uscc, device.id),
                             caller=OPERATOR, uow=c.uow, keys=c.keys, jose=c.jose,
                             clock=c.clock, settings=c.settings)
    c.engine.dispose()
    return Setup(str(device.id), key, str(held.license.id))


def challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(
        b"=").decode()


class Client:
    """One browser, one wallet and one business-system back end, each with its connection."""

    def __init__(self, base: str, setup: Setup) -> None:
        self.setup = setup
        self.steps: list[tuple[str, float]] = []  # (step, seconds) of each request
        hooks = {"response": [self._seen]}
        self.browser = httpx.Client(base_url=base, timeout=30, event_hooks=hooks)
        self.wallet = httpx.Client(base_url=base, timeout=30, event_hooks=hooks)
        self.backend = httpx.Client(base_url=base, timeout=30, auth=(CLIENT_ID, SECRET),
                                    event_hooks=hooks)

    def _seen(self, response: httpx.Response) -> None:
        response.read()
        path = response.request.url.path
        step = STEPS.get(path.rsplit("/", 1)[-1] if "/scan-sessions/" in path
                         or "/authorize/" in path else path, "view")
        self.steps.append((step, response.elapsed.total_seconds()))

    def sign(self, view: dict[str, Any], step: WalletStep, license_id: str | None) -> str:
        message = step_message(step, view["id"], view["nonce"], shown_digest(view), license_id)
        return base64.b64encode(self.setup.key.sign(message, ec.ECDSA(hashes.SHA256()))).decode()

    def login(self, consent: bool = False) -> None:
        verifier, state = secrets.token_urlsafe(48), secrets.token_urlsafe(12)
        page = self.browser.get("/oidc/authorize", params={
            "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT,
            "scope": "openid profile enterprise", "state": state,
            "nonce": secrets.token_urlsafe(12), "code_challenge": challenge(verifier),
            "code_challenge_method": "S256"})
        found = re.search(r'data-url="([^"]+)"', page.text)
        assert page.status_code == 200 and found, page.text[:500]
        session_id = unescape(found.group(1)).rsplit("/", 1)[-1]
        view = self._ok(self.wallet.get(f"/api/v1/scan-sessions/{session_id}"))
        for step, license_id in ((WalletStep.SCAN, None),
                                 (WalletStep.CONFIRM, self.setup.license_id)):
            body: dict[str, Any] = {"device_id": self.setup.device_id,
                                    "signature": self.sign(view, step, license_id)}
            if license_id is not None:
                body["license_id"] = license_id
            self._ok(self.wallet.post(f"/api/v1/scan-sessions/{session_id}/{step.value}",
                                      json=body))
        waited = self._ok(self.browser.get(f"/oidc/authorize/{session_id}/wait"))
        assert waited["state"] == "confirmed", waited
        location = waited["next"]  # where the page's script goes: the code, or consent first
        if consent:
            page = self.browser.get(location)
            token = re.search(r'name="form_token" value="([^"]+)"', page.text)
            assert page.status_code == 200 and token, page.text[:500]
            done = self.browser.post(f"/oidc/authorize/{session_id}/consent", data={
                "form_token": unescape(token.group(1)), "decision": "approve"})
            assert done.status_code == 303, done.text[:500]
            location = done.headers["location"]
        assert location.startswith(REDIRECT + "?"), location
        query = parse_qs(urlsplit(location).query)
        assert query["state"] == [state], query
        tokens = self._ok(self.backend.post("/oidc/token", data={
            "grant_type": "authorization_code", "code": query["code"][0],
            "redirect_uri": REDIRECT, "code_verifier": verifier}))
        assert tokens["id_token"].count(".") == 2 and tokens["token_type"] == "Bearer"

    @staticmethod
    def _ok(response: httpx.Response) -> dict[str, Any]:
        assert response.is_success, response.text[:500]
        body: dict[str, Any] = response.json()
        return body


def cpu_seconds(pids: list[int], *, children: bool = False) -> float:
    """User + system CPU seconds of these processes (/proc/<pid>/stat fields 14 and 15), with
    ``children`` also those of their exited, waited-for children (16 and 17)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += sum(int(f) for f in fields[11:15 if children else 13])
    return total / tick


def postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process now, plus what its exited backends used (the
    postmaster's children's times): the difference of two readings is what PostgreSQL spent."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return cpu_seconds(found, children=True)


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(q * len(ordered) + 0.999999) - 1))]


def run(logins: int, concurrency: int, warmup: int) -> None:
    with database() as url, tempfile.TemporaryDirectory() as data_dir:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("YUNZHANG_")},
               "YUNZHANG_ENV": "development", "YUNZHANG_DATABASE_URL": url,
               "YUNZHANG_DATA_DIR": data_dir, "YUNZHANG_PUBLIC_URL": base,
               "YUNZHANG_LOG_LEVEL": "WARNING"}
        setup = seed(url, data_dir, base)
        server = subprocess.Popen([sys.executable, "-m", "yunzhang.cli.main", "serve", "--port",
                                   str(port)], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            else:
                raise SystemExit("the server did not start: "
                                 + (server.stderr.read().decode() if server.stderr else ""))
            clients = [Client(base, setup) for _ in range(concurrency)]
            clients[0].login(consent=True)  # consent once, as a person does the first time
            for i in range(warmup):
                clients[i % concurrency].login()
            latencies: list[float] = []
            failures: list[str] = []
            steps: dict[str, list[float]] = {}
            lock = threading.Lock()
            todo = iter(range(logins))

            def work(client: Client) -> None:
                while True:
                    with lock:
                        if next(todo, None) is None:
                            return
                    started = time.perf_counter()
                    client.steps.clear()
                    try:
                        client.login()
                    except (AssertionError, httpx.HTTPError) as exc:
                        with lock:
                            failures.append(str(exc)[:200])
                        continue
                    with lock:
                        latencies.append(time.perf_counter() - started)
                        for step, seconds in client.steps:
                            steps.setdefault(step, []).append(seconds)

            server_cpu0, pg_cpu0 = cpu_seconds([server.pid]), postgres_cpu()
            wall0 = time.perf_counter()
            threads = [threading.Thread(target=work, args=(c,)) for c in clients]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - wall0
            server_cpu = cpu_seconds([server.pid]) - server_cpu0
            pg_cpu = postgres_cpu() - pg_cpu0
        finally:
            server.terminate()
            server.wait(timeout=30)
    done = len(latencies)
    per_cpu = done / server_cpu if server_cpu else float("inf")
    p50, p99 = (nearest_rank(latencies, q) * 1000 for q in (0.5, 0.99))
    print(json.dumps({"logins": done, "failed": len(failures), "concurrency": concurrency,
                      "cpus": os.cpu_count()}))
    print(f"anchor    Keycloak (published sizing): {KEYCLOAK_PER_VCPU:.0f} password logins/s per "
          f"vCPU; target {TARGET_PER_VCPU:.0f}/s per vCPU, p99 < {TARGET_P99_MS:.0f} ms")
    print(f"yunzhang  {done / wall:.1f} logins/s wall, {per_cpu:.1f} logins/s per server CPU "
          f"({server_cpu:.1f} CPU s for {done}), p50 {p50:.1f} ms, p99 {p99:.1f} ms, mean "
          f"{statistics.fmean(latencies) * 1000:.1f} ms")
    requests = sum(len(v) for v in steps.values()) / max(done, 1)
    print(f"requests  {requests:.0f} per login; p50 of each: " + ", ".join(
        f"{name} {statistics.median(v) * 1000:.1f} ms" for name, v in steps.items()))
    print(f"postgres  {pg_cpu / max(done, 1) * 1000:.2f} CPU ms per login "
          f"({pg_cpu:.1f} CPU s)")
    print(f"ratio     {per_cpu / KEYCLOAK_PER_VCPU:.1f}x Keycloak's per-vCPU rate")
    if failures:
        print(f"failures  {len(failures)}, first: {failures[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logins", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args()
    run(args.logins, args.concurrency, args.warmup)


if __name__ == "__main__":
    main()
