"""验章 for anyone: POST /api/v1/verify (the PDF as the body) answers a JSON report; /verify is
the same as a web page with an upload form."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from yunzhang.domain.verification import VerificationReport
from yunzhang.errors import UnsupportedMedia
from yunzhang.services import verification
from yunzhang.web.api import Public
from yunzhang.web.deps import ContainerDep

router = APIRouter(tags=["verification (public)"])
VERIFY_PATHS = (r"/api/v1/verify", r"/verify")


class SignaturePublic(Public):
    field_name: str
    kind: str
    signer: str
    enterprise: str | None
    uscc: str | None
    seal_id: str | None
    seal_type: str | None
    person: str | None
    signing_time: datetime | None
    timestamp_time: datetime | None
    intact: bool
    valid: bool
    trusted: bool
    trust_problem: str | None
    revocation: str
    modified_after: str
    coverage: str
    ok: bool


class VerificationPublic(Public):
    ok: bool
    signatures: list[SignaturePublic]


def _public(report: VerificationReport) -> VerificationPublic:
    return VerificationPublic(ok=report.ok, signatures=[
        SignaturePublic.model_validate(s.summary()) for s in report.signatures])


@router.post("/api/v1/verify", response_model=VerificationPublic,
             openapi_extra={"requestBody": {"content": {"application/pdf": {}}, "required": True}})
async def verify(request: Request, c: ContainerDep) -> VerificationPublic:
    """Every signature of the PDF in the body (`Content-Type: application/pdf`)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/pdf":
        raise UnsupportedMedia("send the PDF itself as application/pdf", code="verify.media_type")
    # Services are synchronous (and pyHanko runs an event loop of its own): off the server's loop.
    report = await run_in_threadpool(
        verification.verify_document, await request.body(), uow=c.uow, verifier=c.verifier,
        clock=c.clock, settings=c.settings)
    return _public(report)


_PAGE = """<!doctype html><html lang="zh-CN"><meta charset="utf-8">
<title>验章 Verify a signed PDF · yunzhang</title>
<style>body{{font:15px system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #ccc;padding:.3rem;text-align:left}}
.ok{{color:#060}}.bad{{color:#b00}}</style>
<h1>验章 Verify a signed PDF</h1>
<form method="post" action="/verify" enctype="multipart/form-data">
<input type="file" name="file" accept="application/pdf" required> <button>Verify 验证</button></form>
{body}</html>"""


@router.get("/verify", response_class=HTMLResponse)
def page() -> HTMLResponse:
    return HTMLResponse(_PAGE.format(body="<p>The file is checked and not kept.</p>"))


@router.post("/verify", response_class=HTMLResponse)
async def page_result(c: ContainerDep, file: Annotated[UploadFile, File()]) -> HTMLResponse:
    report = _public(await run_in_threadpool(
        verification.verify_document, await file.read(), uow=c.uow, verifier=c.verifier,
        clock=c.clock, settings=c.settings))
    verdict = ("<p class=ok>✔ Every signature is intact, valid and trusted. 全部签章有效。</p>"
               if report.ok else "<p class=bad>✘ Not every signature checks out. 签章验证未通过。</p>")
    rows = "".join(
        f"<tr><td>{escape(s.signer)}</td><td>{escape(s.kind)}</td><td>{escape(s.enterprise or '')}"
        f"<br>{escape(s.uscc or '')}</td><td>{escape(str(s.timestamp_time or s.signing_time or ''))}</td>"
        f"<td>{'✔' if s.intact else '✘'}</td><td>{'✔' if s.valid else '✘'}</td>"
        f"<td>{'✔' if s.trusted else '✘'}</td><td>{escape(s.revocation)}</td>"
        f"<td>{escape(s.modified_after)}</td></tr>" for s in report.signatures)
    table = ("<table><tr><th>signer 签署者</th><th>kind</th><th>enterprise 企业 / USCC</th>"
             "<th>time 时间</th><th>intact</th><th>valid</th><th>trusted</th><th>revocation</th>"
             f"<th>changed after</th></tr>{rows}</table>") if rows else "<p>No signatures.</p>"
    return HTMLResponse(_PAGE.format(body=verdict + table))
