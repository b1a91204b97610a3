"""The demo sites' HTML: one layout, plain strings, every value escaped where it is put in."""

from __future__ import annotations

from html import escape

STYLE = """
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;max-width:52rem;
margin:2rem auto;padding:0 1rem;color:#222;line-height:1.5}
header{border-bottom:3px solid var(--c);margin-bottom:1.5rem;display:flex;
justify-content:space-between;align-items:baseline;gap:1rem;flex-wrap:wrap}
header a{color:var(--c);text-decoration:none;font-weight:600;font-size:1.3rem}
nav a{margin-left:1rem;color:#444}
.button,button{background:var(--c);color:#fff;border:0;padding:.55rem 1.2rem;border-radius:4px;
font-size:1rem;text-decoration:none;display:inline-block;cursor:pointer}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ccc;
padding:.3rem .7rem;text-align:left}
.error{background:#fde8e8;border-left:4px solid #c0392b;padding:.7rem 1rem}
.ok{background:#e8f6ec;border-left:4px solid #27ae60;padding:.7rem 1rem}
.qr{display:flex;gap:2rem;align-items:center;flex-wrap:wrap}
code{background:#f3f3f3;padding:.1rem .3rem;word-break:break-all}
.code{font-size:2rem;font-weight:700;letter-spacing:.3rem}
small,.muted{color:#666}
[hidden]{display:none!important}
"""


def esc(value: object) -> str:
    return escape("" if value is None else str(value))


def layout(*, title: str, site_title: str, home: str, colour: str, body: str,
           user: str | None = None, account: bool = True) -> str:
    links = "" if not account else (
        f'<a href="{home}me">{esc(user)}</a><a href="{home}logout">退出 log out</a>'
        if user else f'<a href="{home}login">扫码登录 log in by scan</a>')
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{esc(title)} · {esc(site_title)}</title><style>:root{{--c:{colour}}}{STYLE}</style></head>
<body><header><a href="{home}">{esc(site_title)}</a><nav><a href="/demo/">所有示范 all demos</a>
{links}</nav></header>{body}
<footer><p class="muted"><small>A demo business system of yunzhang (云章), built only on
<code>yunzhang.sdk</code>: it calls the platform over HTTP like any business system.</small></p>
</footer></body></html>"""
