"""The provider's pages, server-rendered: the login page with the scan QR code (扫码登录) or, on a
phone, the link that opens the wallet on the same device; the consent page; the error page
(RFC 6749 §4.1.2.1: a wrong client or redirect URI is shown here, never redirected)."""

from __future__ import annotations

import re
import secrets
from html import escape
from urllib.parse import quote, urlsplit

import segno
from fastapi.responses import HTMLResponse

from yunzhang.domain.grants import CST
from yunzhang.errors import OAuthError
from yunzhang.services.oidc import Begun, ConsentAsk

WALLET_SCHEME = "yunzhang-wallet://scan?url="
_MASK = 1  # horizontal stripes
_PHONE = re.compile(r"Android|iPhone|iPad|iPod|Mobile|HarmonyOS|MicroMessenger", re.I)

_STYLE = """body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;max-width:28rem;
margin:2rem auto;padding:0 1rem;color:#222}h1{font-size:1.3rem}.qr svg{width:16rem;max-width:100%;height:auto}
code{word-break:break-all}.muted{color:#666;font-size:.9rem}.wallet{display:block;text-align:center;
padding:.9rem;background:#c8102e;color:#fff;border-radius:.5rem;text-decoration:none;
font-size:1.1rem}button{font-size:1rem;padding:.6rem 1.2rem;margin-right:.5rem}
li{margin:.3rem 0}.error{border-left:4px solid #c8102e;padding-left:.8rem}"""


def same_device_link(scan_url: str) -> str:
    return WALLET_SCHEME + quote(scan_url, safe="")


def is_phone(user_agent: str | None) -> bool:
    return bool(user_agent and _PHONE.search(user_agent))


def _page(title: str, body: str, *, nonce: str | None = None, status: int = 200,
          form_target: str | None = None) -> HTMLResponse:
    script = f"'nonce-{nonce}'" if nonce else "'none'"
    # form-action covers the redirect after the consent form (browsers check it on redirects).
    form = "'self'" + (f" {form_target}" if form_target else "")
    headers = {
        "Content-Security-Policy": f"default-src 'none'; script-src {script}; style-src "
                                   f"'unsafe-inline'; img-src data:; connect-src 'self'; "
                                   f"form-action {form}; frame-ancestors 'none'; base-uri 'none'",
        "X-Frame-Options": "DENY",  # a login or consent page is never framed (clickjacking)
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    html = (f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width,initial-scale=1"><title>{escape(title)} · 云章 '
            f'yunzhang</title><style>{_STYLE}</style>{body}</html>')
    return HTMLResponse(html, status_code=status, headers=headers)


def login_page(begun: Begun, *, user_agent: str | None) -> HTMLResponse:
    """The QR code of the scan session, or on a phone the link that opens the wallet; the page
    follows the session with its cookie and goes on when the wallet has answered."""
    session, url = begun.opened.session, begun.opened.url
    base = f"/oidc/authorize/{quote(session.id)}"
    nonce = secrets.token_urlsafe(16)
    until = session.expires_at.astimezone(CST).strftime("%H:%M:%S (UTC+8)")
    # A fixed mask pattern: any of the eight decodes (ISO/IEC 18004 §7.8); choosing the best by
    # its penalty score would take three times as long as the rest of the code, per login.
    qr = segno.make(url, error="m", mask=_MASK, boost_error=False).svg_inline(
        omitsize=True, dark="#000", light="#fff")
    link = (f'<p><a class="wallet" id="wallet-link" href="{escape(same_device_link(url))}">'
            f'打开云章钱包登录 · Open the wallet</a></p><p class="muted">或在另一台设备上扫码 · '
            f'or scan this code from another device:</p>' if is_phone(user_agent) else "")
    body = f"""<h1>扫码登录 {escape(begun.system.name)}</h1>
<p>请用云章钱包扫描二维码，核对后确认登录。<br><span class="muted">Scan with the yunzhang wallet,
check what is asked and confirm.</span></p>{link}
<div class="qr" id="qr" data-url="{escape(url)}">{qr}</div>
<p class="muted">钱包命令 · with the reference wallet: <code>yunzhang wallet scan {escape(url)}</code></p>
<p class="muted">有效至 · valid until <time datetime="{escape(session.expires_at.isoformat())}">{until}</time></p>
<p id="status" aria-live="polite">等待扫码 · waiting for the scan</p>
<p><a id="restart" hidden href="">二维码已过期，重新获取 · expired: get a new code</a></p>
<noscript><p><a href="{base}/done">已在钱包中确认，继续 · confirmed in the wallet: go on</a>
</p></noscript>
<script nonce="{nonce}">
(function () {{
  var base = "{base}", status = document.getElementById("status");
  var words = {{pending: "等待扫码 · waiting for the scan",
               scanned: "已扫码，请在钱包中确认 · scanned: confirm in the wallet"}};
  function poll() {{
    fetch(base + "/wait?wait=20", {{credentials: "same-origin", cache: "no-store"}})
      .then(function (r) {{
        if (r.status === 404) {{ status.textContent = "此登录已失效 · this login is no longer valid";
                                return null; }}
        if (!r.ok) throw new Error(r.status); return r.json(); }})
      .then(function (s) {{
        if (s === null) return;
        if (s.state === "pending" || s.state === "scanned") {{
          status.textContent = words[s.state]; poll(); return;
        }}
        if (s.state === "expired") {{
          status.textContent = "二维码已过期 · the code expired";
          var again = document.getElementById("restart");
          again.href = location.href; again.hidden = false;
          document.getElementById("qr").style.opacity = "0.2"; return;
        }}
        location.assign(s.next || base + "/done");
      }})
      .catch(function () {{ setTimeout(poll, 2000); }});
  }}
  poll();
}})();
</script>"""
    return _page("扫码登录", body, nonce=nonce)


def consent_page(ask: ConsentAsk) -> HTMLResponse:
    authorization = ask.authorization
    items = "".join(f"<li><code>{escape(name)}</code> {escape(title)}</li>"
                    for name, title in ask.scopes)
    who = (f"{escape(authorization.enterprise_name or '')} ({escape(authorization.uscc)})"
           if authorization.uscc else "本人 · yourself")
    action = f"/oidc/authorize/{quote(authorization.id)}/consent"
    target = urlsplit(authorization.redirect_uri)
    body = f"""<h1>同意授权 · Consent</h1>
<p><strong>{escape(ask.system_name)}</strong> 请求以 {who} 的身份获取：<br>
<span class="muted">asks to learn, for {who}:</span></p><ul>{items}</ul>
<p class="muted">同意将被记住，可随时在“我的授权”中撤回。Your consent is remembered; withdraw it
at any time (GET /api/v1/me/consents).</p>
<form method="post" action="{escape(action)}">
<input type="hidden" name="form_token" value="{escape(ask.form_token)}">
<button name="decision" value="approve" type="submit">同意 · Allow</button>
<button name="decision" value="deny" type="submit">拒绝 · Deny</button></form>"""
    return _page("同意授权", body, form_target=f"{target.scheme}://{target.netloc}")


def error_page(error: OAuthError) -> HTMLResponse:
    body = f"""<h1>无法登录 · Login not possible</h1><div class="error">
<p><code id="error">{escape(error.error)}</code></p><p id="detail">{escape(error.detail)}</p></div>
<p class="muted">请返回业务系统重新发起登录。Go back to the business system and start again.</p>"""
    return _page("无法登录", body, status=409 if error.code == "oidc.not_confirmed"
                 else error.status)


def logged_out_page(system_name: str | None) -> HTMLResponse:
    where = f" {escape(system_name)}" if system_name else ""
    return _page("已退出", f"<h1>已退出{where} · Logged out</h1><p class='muted'>"
                 "the tokens of this login no longer work.</p>")
