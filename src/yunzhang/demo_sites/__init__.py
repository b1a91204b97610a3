"""Demo business systems (示范业务系统) served under /demo/: a bidding portal (招投标) and a
social-insurance filing system (社保申报), built only on ``yunzhang.sdk`` and calling the
platform over HTTP like any other business system."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from yunzhang.demo_sites.pages import esc, layout
from yunzhang.demo_sites.site import SiteConfig, SiteSpec, build_router

BIDDING = SiteSpec(
    slug="bidding", title="示范招投标平台 demo bidding portal",
    tagline="投标人以企业身份扫码登录，在投标函上加盖电子印章。Bidders log in by scan as their "
            "enterprise and stamp the bid letter with the enterprise's cloud seal.",
    colour="#1f5fa8", client_id="demo.bidding", business_scope="ecommerce.bidding",
    login_scopes=("openid", "profile", "enterprise", "ecommerce.bidding"),
    document_file="bid-letter.pdf", document_name="投标函.pdf", request_title="投标函 bid letter")
SOCIAL_INSURANCE = SiteSpec(
    slug="social-insurance", title="示范社保申报系统 demo social-insurance filing",
    tagline="经办人扫码登录，在社会保险费申报表上用印后提交。An agent logs in by scan and stamps "
            "the monthly social-insurance declaration before filing it.",
    colour="#2e7d4f", client_id="demo.social-insurance",
    business_scope="hr.social_insurance.declare",
    login_scopes=("openid", "profile", "enterprise", "hr.social_insurance"),
    document_file="social-insurance-declaration.pdf", document_name="社保申报表.pdf",
    request_title="社保申报表 social-insurance declaration")
SITES = (BIDDING, SOCIAL_INSURANCE)


def demo_router(configs: list[SiteConfig]) -> APIRouter:
    """/demo/ (what to try) and one router per configured site."""
    router = APIRouter(include_in_schema=False)
    for config in configs:
        router.include_router(build_router(config))
    cards = "".join(
        f'<li><p><a class="button" href="/demo/{c.spec.slug}/">{esc(c.spec.title)}</a></p>'
        f"<p>{esc(c.spec.tagline)}</p></li>" for c in configs)

    @router.get("/demo/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        body = (f"<h1>示范业务系统 Demo business systems</h1><ul>{cards}</ul>"
                "<h2>How to try it</h2><ol><li>扫码登录 log in by scan: the platform shows a QR "
                "code; scan it with the wallet, here <code>yunzhang wallet scan URL --license "
                "91310115MA1K4DEM05 --yes</code>.</li><li>See who is logged in: person, "
                "enterprise, role and grants, from the ID token.</li><li>用印 ask for a stamp: "
                "scan the step's QR code with <code>yunzhang wallet scan URL --yes</code>, then "
                "download the stamped PDF.</li></ol><p class=muted>README.md, “Try the demo "
                "business systems”, walks through it.</p>")
        return HTMLResponse(layout(title="示范业务系统 demos", site_title="云章 yunzhang demos",
                                   home="/demo/", colour="#b03a2e", body=body, account=False))

    return router


__all__ = ["BIDDING", "SITES", "SOCIAL_INSURANCE", "SiteConfig", "SiteSpec", "build_router",
           "demo_router"]
