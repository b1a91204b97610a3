"""Make the sample PDFs of the demo business systems (src/yunzhang/demo_sites/documents/) with
fpdf2, as examples/contract.pdf was made: a 投标函 (bid letter) for the bidding portal and a
社保申报表 (social-insurance declaration form) for the social-insurance system, each with a
"盖章处" where the seal goes. The PDFs are committed; run this only to change them:

    .venv/bin/python scripts/make-demo-documents.py
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

OUT = Path(__file__).resolve().parents[1] / "src" / "yunzhang" / "demo_sites" / "documents"
FONT = subprocess.run(["fc-match", "-f", "%{file}", "AR PL UMing CN"], check=True,
                      capture_output=True, text=True).stdout
MADE = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
ENTERPRISE = "上海云章示范科技有限公司"
USCC = "91310115MA1K4DEM05"


def document(title: str) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_creator("yunzhang examples")
    pdf.set_creation_date(MADE)
    pdf.add_font("uming", fname=FONT)
    pdf.set_margins(25, 25, 25)
    pdf.add_page()
    pdf.set_font("uming", size=20)
    pdf.cell(0, 14, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("uming", size=12)
    return pdf


def paragraph(pdf: FPDF, text: str, *, gap: float = 2) -> None:
    pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(gap)


def bid_letter() -> bytes:
    pdf = document("投标函（示例）")
    paragraph(pdf, "招标编号：ZB-2026-0107")
    paragraph(pdf, "致：示范公共资源交易中心（招标人）")
    for line in (
        "一、我方已仔细研究了“示范办公楼物业管理服务”项目招标文件的全部内容，愿意以人民币"
        "壹佰贰拾万元整（¥1,200,000.00）的投标总报价，按合同约定提供服务。",
        "二、我方承诺在投标有效期（自投标截止之日起九十日）内不修改、撤销投标文件。",
        "三、如我方中标，我方承诺在收到中标通知书后三十日内与招标人签订合同，并按招标文件"
        "的规定提交履约保证金。",
        "四、我方提交的投标文件及有关资料均真实、准确、完整。",
    ):
        paragraph(pdf, line)
    pdf.ln(16)
    paragraph(pdf, f"投标人：{ENTERPRISE}（统一社会信用代码 {USCC}）", gap=0)
    paragraph(pdf, "投标人（盖章处）：", gap=0)
    pdf.ln(24)
    paragraph(pdf, "法定代表人或其委托代理人（签字）：", gap=0)
    paragraph(pdf, "日期：2026 年 11 月 22 日", gap=0)
    return bytes(pdf.output())


def declaration_form() -> bytes:
    pdf = document("社会保险费申报表（示例）")
    paragraph(pdf, "所属期：2026 年 11 月　　　申报日期：2026 年 11 月 22 日")
    paragraph(pdf, f"缴费单位：{ENTERPRISE}")
    paragraph(pdf, f"统一社会信用代码：{USCC}　　　社保登记号：31011500001234")
    rows = (("险种", "缴费人数", "缴费基数合计（元）", "应缴金额（元）"),
            ("养老保险", "12", "156,000.00", "31,200.00"),
            ("医疗保险", "12", "156,000.00", "14,820.00"),
            ("失业保险", "12", "156,000.00", "780.00"),
            ("工伤保险", "12", "156,000.00", "249.60"),
            ("合计", "", "", "47,049.60"))
    widths = (38, 28, 50, 44)
    for row in rows:
        for width, text in zip(widths, row, strict=True):
            pdf.cell(width, 10, text, border=1, align="C")
        pdf.ln(10)
    pdf.ln(6)
    paragraph(pdf, "本单位承诺：以上申报的缴费人数及缴费基数真实、准确，如有虚假，愿承担法律责任。")
    pdf.ln(16)
    paragraph(pdf, "缴费单位（盖章处）：", gap=0)
    pdf.ln(24)
    paragraph(pdf, "经办人：　　　　　联系电话：", gap=0)
    return bytes(pdf.output())


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bid-letter.pdf").write_bytes(bid_letter())
    (OUT / "social-insurance-declaration.pdf").write_bytes(declaration_form())
    for path in sorted(OUT.glob("*.pdf")):
        print(path.relative_to(OUT.parents[3]), path.stat().st_size, "bytes")
