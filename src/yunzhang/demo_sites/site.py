"""One demo business system as a FastAPI router: log in by scan (OpenID Connect through
``yunzhang.sdk.oidc``), show who is logged in, ask for a stamp on a sample PDF (a stamp request
through ``yunzhang.sdk.requests``) with the step's QR code, follow it, download the stamped
PDF, and receive the platform's webhooks (checked with ``yunzhang.sdk.webhooks``)."""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from importlib import resources
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from yunzhang.demo_sites.pages import esc, layout
from yunzhang.demo_sites.sessions import CookieSessions
from yunzhang.sdk import (
    Document,
    Identity,
    LoginRequest,
    OidcClient,
    Placement,
    PlatformClient,
    SdkError,
    Step,
    new_login,
    verify_webhook,
)
from yunzhang.sdk.jose import parse
from yunzhang.sdk.oidc import identity_fields

ROLES = {"legal_rep": "法定代表人 legal representative", "admin": "管理员 license administrator",
         "agent": "经办人 agent"}
STATES = {"pending": "等待扫码 waiting for a scan", "scanned": "已扫码，等待确认 scanned, waiting "
          "for the confirmation", "confirmed": "已确认 confirmed", "denied": "已拒绝 denied",
          "refused": "平台拒绝 refused by the platform", "expired": "二维码已过期 QR code expired"}
MAX_REQUESTS = 10  # kept in the cookie, newest first
MAX_EVENTS = 500  # webhook events remembered (in memory: a demo)


@dataclass(frozen=True)
class SiteSpec:
    """What makes one demo site: its name, the business it is for, the sample document."""

    slug: str  # /demo/<slug>/
    title: str
    tagline: str
    colour: str
    client_id: str
    business_scope: str  # the scope its requests are for
    login_scopes: tuple[str, ...]
    document_file: str  # in demo_sites/documents
    document_name: str  # as the wallet shows it
    request_title: str
    seal_types: tuple[tuple[str, str], ...] = (("contract", "合同专用章 contract seal"),
                                               ("official", "公章 official seal"))


@dataclass(frozen=True)
class SiteConfig:
    spec: SiteSpec
    platform_url: str  # YUNZHANG_PUBLIC_URL: the OpenID Connect issuer and the API's base
    client_secret: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    cookie_key: bytes = field(repr=False)

    @property
    def home(self) -> str:
        return f"{self.platform_url.rstrip('/')}/demo/{self.spec.slug}/"


class WebhookLog:
    """The events received, deduplicated by id (delivery is at least once), per request."""

    def __init__(self) -> None:
        self._seen: deque[str] = deque(maxlen=MAX_EVENTS)
        self._by_request: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def add(self, event_id: str, kind: str, data: dict[str, Any]) -> bool:
        with self._lock:
            if event_id in self._seen:
                return False
            self._seen.append(event_id)
            request_id = str(data.get("id", ""))
            self._by_request.setdefault(request_id, []).append(
                {"id": event_id, "type": kind, "status": data.get("status"),
                 "progress": data.get("progress")})
            return True

    def of(self, request_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._by_request.get(request_id, []))


def document_bytes(spec: SiteSpec) -> bytes:
    return resources.files("yunzhang.demo_sites").joinpath("documents", spec.document_file) \
        .read_bytes()


def qr_svg(url: str) -> str:
    return str(segno.make(url, error="m").svg_inline(scale=5, dark="#222"))


def logged_in_as(data: dict[str, Any]) -> Identity | None:
    """Who the session's ID token names. The token was validated at the callback and the cookie
    holding it is signed with the site's key, so it is read here without checking it again (it
    may have expired since: the site's own session lasts its cookie's lifetime). Only the token
    is kept: its claims would double the cookie, which must stay under 4 KB."""
    raw = (data.get("user") or {}).get("id_token")
    if not isinstance(raw, str):
        return None
    try:
        return Identity(**identity_fields(parse(raw).payload))
    except SdkError:
        return None


def build_router(config: SiteConfig) -> APIRouter:
    spec, home = config.spec, f"/demo/{config.spec.slug}/"
    secure = config.platform_url.startswith("https://")
    sessions = CookieSessions(config.cookie_key, name=f"demo_{spec.slug.replace('-', '_')}",
                              path=home, secure=secure)
    oidc = OidcClient(config.platform_url, client_id=spec.client_id,
                      client_secret=config.client_secret, redirect_uri=f"{config.home}callback",
                      scopes=spec.login_scopes)
    platform = PlatformClient(config.platform_url, client_id=spec.client_id,
                              client_secret=config.client_secret)
    events = WebhookLog()
    router = APIRouter(prefix=f"/demo/{spec.slug}", include_in_schema=False)

    def page(title: str, body: str, data: dict[str, Any], status: int = 200) -> HTMLResponse:
        user = logged_in_as(data)
        return HTMLResponse(layout(title=title, site_title=spec.title, home=home,
                                   colour=spec.colour, body=body,
                                   user=(user.name or "已登录 logged in") if user else None),
                            status_code=status)

    def failure(title: str, error: SdkError, data: dict[str, Any], status: int) -> HTMLResponse:
        return page(title, f'<h1>{esc(title)}</h1><p class="error">{esc(error.detail)} '
                           f'<small>[{esc(error.code)}]</small></p><p><a href="{home}">'
                           f'返回首页 back to the home page</a></p>', data, status)

    @router.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        data = sessions.load(request)
        user = logged_in_as(data)
        if user:
            firm = user.enterprise
            body = (f"<p>欢迎 Welcome, {esc(user.name)}" + (f"（{esc(firm.name)}）" if firm else "") +
                    f'</p><p><a class="button" href="{home}stamp">申请用印 ask for a stamp</a> '
                    f'<a href="{home}me">我的登录信息 who is logged in</a></p>')
        else:
            body = (f'<p><a class="button" href="{home}login">扫码登录 log in by scan</a></p>'
                    "<p class=muted>You are sent to the yunzhang platform, which shows a QR code;"
                    " scan it with the wallet (here: <code>yunzhang wallet scan URL --license "
                    "USCC --yes</code>) and you come back logged in.</p>")
        return page(spec.title, f"<h1>{esc(spec.title)}</h1><p>{esc(spec.tagline)}</p>{body}",
                    data)

    @router.get("/login")
    def login(request: Request) -> Response:
        data = sessions.load(request)
        started = new_login()
        try:
            target = oidc.authorization_url(started.state, started.nonce, started.code_verifier)
        except SdkError as error:
            return failure("无法登录 cannot log in", error, data, 502)
        response = RedirectResponse(target, status_code=303)
        sessions.save(response, {**data, "login": {"state": started.state,
                                                   "nonce": started.nonce,
                                                   "verifier": started.code_verifier}})
        return response

    @router.get("/callback")
    def callback(request: Request) -> Response:
        data = sessions.load(request)
        pending = data.pop("login", None)
        if not isinstance(pending, dict):
            error = SdkError("no login was started in this browser (or it was finished already)",
                             code="oidc.state")
            response: Response = failure("登录失败 login failed", error, data, 400)
        else:
            started = LoginRequest(str(pending.get("state")), str(pending.get("nonce")),
                                   str(pending.get("verifier")))
            try:
                done = oidc.finish_login(dict(request.query_params), started)
            except SdkError as error:
                response = failure("登录失败 login failed", error, data, 400)
            else:
                before = logged_in_as(data)
                if before is None or before.subject != done.id_token.subject:
                    data = {}  # someone else in this browser: none of the last one's requests
                data["user"] = {"id_token": done.id_token.raw}
                response = RedirectResponse(f"{home}me", status_code=303)
        sessions.save(response, data)  # the pending login is used up either way
        return response

    @router.get("/me", response_class=HTMLResponse)
    def me(request: Request) -> Response:
        data = sessions.load(request)
        user = logged_in_as(data)
        if not user:
            return RedirectResponse(f"{home}login", status_code=303)
        firm = user.enterprise
        rows = [("姓名 name", user.name), ("手机 phone", user.phone_number),
                ("平台用户 person id (sub)", user.subject),
                ("企业 enterprise", f"{firm.name}（{firm.uscc}）" if firm else
                 "— 个人登录 a natural person's login, without an e-license"),
                ("角色 role", ROLES.get(user.role or "", user.role) or "—")]
        table = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
        grants = "".join(
            f"<tr><td>{esc('全业务 all business' if g.all_business else g.scope)}</td>"
            f"<td>{esc(g.starts_at.isoformat() if g.starts_at else '—')}</td>"
            f"<td>{esc(g.ends_at.isoformat() if g.ends_at else '—')}</td></tr>"
            for g in user.grants)
        body = (f"<h1>已登录 Logged in</h1><table>{table}</table><h2>授权 grants in this "
                "business system</h2>" +
                (f"<table><tr><th>scope</th><th>from</th><th>until</th></tr>{grants}</table>"
                 if grants else "<p class=muted>none</p>") +
                f'<p><a class="button" href="{home}stamp">申请用印 ask for a stamp</a></p>')
        return page("已登录 logged in", body, data)

    @router.get("/logout")
    def logout(request: Request) -> Response:
        data = sessions.load(request)
        hint = (data.get("user") or {}).get("id_token")
        try:
            target = oidc.logout_url(id_token_hint=hint, post_logout_redirect_uri=config.home)
        except SdkError:
            target = home  # a provider without RP-initiated logout: end ours only
        response = RedirectResponse(target, status_code=303)
        sessions.clear(response)
        return response

    @router.get("/document.pdf")
    def sample() -> Response:
        return Response(document_bytes(spec), media_type="application/pdf")

    @router.get("/stamp", response_class=HTMLResponse)
    def ask(request: Request) -> Response:
        data = sessions.load(request)
        user = logged_in_as(data)
        if not user:
            return RedirectResponse(f"{home}login", status_code=303)
        firm = user.enterprise
        if not firm:
            return page("申请用印 ask for a stamp",
                        '<h1>申请用印 Ask for a stamp</h1><p class="error">用印需要以企业身份登录：'
                        "log out and log in again with your enterprise's e-license "
                        "(<code>--license USCC</code>).</p>", data, 403)
        options = "".join(f'<option value="{esc(v)}">{esc(t)}</option>' for v, t in
                          spec.seal_types)
        mine = "".join(f'<li><a href="{home}requests/{esc(r)}">{esc(r)}</a></li>'
                       for r in data.get("requests", []))
        body = (f"<h1>申请用印 Ask for a stamp</h1><p>文件 document: "
                f'<a href="{home}document.pdf">{esc(spec.document_name)}</a></p>'
                f'<form method="post" action="{home}stamp"><p>印章 seal of {esc(firm.name)}: '
                f'<select name="seal_type">{options}</select></p><p><button>申请用印 ask for '
                "the stamp</button></p></form><p class=muted>The platform keeps the document "
                "until someone allowed to use the seal in this business system confirms with "
                "the wallet; the seal is applied on “盖章处”.</p>"
                + (f"<h2>我的用印申请 my requests</h2><ul>{mine}</ul>" if mine else ""))
        return page("申请用印 ask for a stamp", body, data)

    @router.post("/stamp")
    def create(request: Request, seal_type: Annotated[str, Form(max_length=40)]) -> Response:
        data = sessions.load(request)
        user = logged_in_as(data)
        firm = user.enterprise if user else None
        if not firm:
            return RedirectResponse(f"{home}login", status_code=303)
        if seal_type not in dict(spec.seal_types):
            return failure("申请失败 not asked", SdkError("choose one of the seals offered",
                                                        code="demo.seal_type"), data, 422)
        try:
            made = platform.create_request(
                spec.request_title, [Document(spec.document_name, document_bytes(spec))],
                [Step.stamp(f"{firm.uscc}:{seal_type}", Placement(keyword="盖章处"))],
                scope=spec.business_scope, reference=f"{spec.slug}-{uuid.uuid4().hex[:8]}")
        except SdkError as error:
            return failure("申请失败 the platform refused", error, data, 502
                           if error.status is None or error.status >= 500 else 422)
        data["requests"] = [str(made.id), *data.get("requests", [])][:MAX_REQUESTS]
        response = RedirectResponse(f"{home}requests/{made.id}", status_code=303)
        sessions.save(response, data)
        return response

    def own(data: dict[str, Any], request_id: str) -> bool:
        return request_id in data.get("requests", [])

    @router.get("/requests/{request_id}", response_class=HTMLResponse)
    def show(request: Request, request_id: str) -> Response:
        data = sessions.load(request)
        if not own(data, request_id):
            return failure("没有这个申请 no such request", SdkError(
                "this browser asked for no such request", code="demo.not_found"), data, 404)
        try:
            status = platform.get_request(request_id)
            qr = None if status.finished else platform.open_step(request_id)
        except SdkError as error:
            return failure("无法显示 cannot show the request", error, data, 502)
        steps = "".join(f"<li>{esc(s.label)} — {esc(s.state)}</li>" for s in status.steps)
        body = (f"<h1>{esc(status.title)}</h1><p>状态 status: <b id=status>{esc(status.status)}"
                f"</b>, <span id=progress>{status.done}/{status.total}</span></p><ol>{steps}</ol>")
        if qr is not None:
            data["scan"] = {"request": request_id, "id": qr.id, "poll": qr.poll_token}
            body += (f'<div class="qr"><div>{qr_svg(qr.url)}</div><div><p>用云章钱包扫码 scan with '
                     f'the yunzhang wallet</p><p>核对码 binding code<br><span class="code">'
                     f"{esc(qr.binding_code)}</span></p><p class=muted>No phone? In a shell:"
                     f"<br><code>yunzhang wallet scan '{esc(qr.url)}' --yes</code></p>"
                     f"<p>扫码状态 scan: <b id=scan>{esc(STATES['pending'])}</b></p></div></div>")
        received = "".join(f"<li>{esc(e['type'])}</li>" for e in events.of(request_id))
        body += (f'<p id=done {"" if status.completed else "hidden"}><a class="button" '
                 f'href="{home}requests/{esc(request_id)}/download">下载已盖章文件 download the '
                 f'stamped PDF</a> <a href="{esc(config.platform_url)}/verify">验章 verify it at '
                 f'the platform</a></p><h2>回调 webhooks received</h2><ul id=events>{received}'
                 f'</ul><p><a href="{home}stamp">再次申请用印 ask for another stamp</a></p>')
        body += _FOLLOW.replace("PROGRESS_URL", json.dumps(f"{home}requests/{request_id}/progress"))
        response = page(status.title, body, data)
        sessions.save(response, data)
        return response

    @router.get("/requests/{request_id}/progress")
    def progress(request: Request, request_id: str) -> JSONResponse:
        """What the page's script polls: the request's status, the shown QR code's state and the
        webhook events received for the request."""
        data = sessions.load(request)
        if not own(data, request_id):
            return JSONResponse({"code": "demo.not_found"}, status_code=404)
        try:
            status = platform.get_request(request_id)
            scan, outcome = None, None
            shown = data.get("scan") or {}
            if shown.get("request") == request_id and not status.finished:
                result = platform.scan_result(str(shown["id"]), poll_token=str(shown["poll"]))
                scan, outcome = result.state, result.outcome
        except SdkError as error:
            return JSONResponse({"code": error.code, "detail": error.detail}, status_code=502)
        return JSONResponse({
            "status": status.status, "progress": f"{status.done}/{status.total}",
            "completed": status.completed, "scan": scan,
            "scan_text": STATES.get(scan or "", scan), "outcome": outcome,
            "events": events.of(request_id)})

    @router.get("/requests/{request_id}/download")
    def download(request: Request, request_id: str) -> Response:
        data = sessions.load(request)
        if not own(data, request_id):
            return failure("没有这个申请 no such request", SdkError(
                "this browser asked for no such request", code="demo.not_found"), data, 404)
        try:
            status = platform.get_request(request_id)
            if not status.completed:
                raise SdkError(f"the request is {status.status}; the stamped PDF comes when it "
                               "is completed", code="demo.not_completed")
            signed = platform.download(request_id, 1)
        except SdkError as error:
            return failure("无法下载 cannot download", error, data, 409)
        name = spec.document_file.replace(".pdf", "-stamped.pdf")
        return Response(signed.content, media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}"',
                                 "X-Document-SHA256": signed.sha256})

    @router.post("/webhooks")
    async def webhook(request: Request) -> Response:
        """The platform's webhooks, checked with the SDK before anything is believed."""
        body = await request.body()
        try:
            event = verify_webhook(config.webhook_secret, request.headers, body)
        except SdkError as error:
            return JSONResponse({"code": error.code, "detail": error.detail}, status_code=401)
        events.add(event.id, event.type, dict(event.data))
        return Response(status_code=204)

    return router


_FOLLOW = """<script>
const url = PROGRESS_URL;
async function follow() {
  try {
    const r = await fetch(url, {credentials: "same-origin"});
    if (r.ok) {
      const p = await r.json();
      document.getElementById("status").textContent = p.status;
      document.getElementById("progress").textContent = p.progress;
      const scan = document.getElementById("scan");
      if (scan && p.scan) scan.textContent = p.scan_text + (p.outcome ? "：" + p.outcome : "");
      document.getElementById("done").hidden = !p.completed;
      const list = document.getElementById("events");
      list.replaceChildren(...p.events.map(e => {
        const li = document.createElement("li");
        li.textContent = e.type + " " + (e.progress ? e.progress.done + "/" + e.progress.total : "");
        return li;
      }));
      if (p.status !== "open") { if (scan) scan.closest(".qr").hidden = true; }
      else if (["expired", "refused", "denied"].includes(p.scan)) {
        scan.textContent += " — 刷新页面获取新二维码 reload the page for a new QR code";
      }
      if (p.status !== "open" && p.events.length) return;  // finished, and heard of
    }
  } catch (e) {}
  if (++polls < 600) setTimeout(follow, 2000);  // twenty minutes at most
}
let polls = 0;
follow();
</script>"""
