#!/usr/bin/env bash
# Rebuild the real-world PDF corpus in tests/corpus/ with the producers its README names:
# pdfTeX, LibreOffice Writer, Chromium's print-to-PDF, img2pdf (a scanned page), a LibreOffice
# form, qpdf (object streams), and pyHanko signing with a foreign, self-signed certificate.
# The test command does not run this: the PDFs it made are committed, so rebuild only to change
# the corpus (the bytes differ from run to run; tests/e2e/test_corpus.py says what must hold).
# Usage: bash scripts/build-corpus.sh   (PYTHON= a Python with the project installed, default .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=tests/corpus
PY=${PYTHON:-.venv/bin/python}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(texlive-latex-base libreoffice-writer-nogui chromium img2pdf qpdf openssl
          fonts-arphic-uming fontconfig poppler-utils)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=1795392000 FORCE_SOURCE_DATE=1  # 2026-11-22, where a producer honours it
UMING=$(fc-match -f '%{file}' 'AR PL UMing CN')  # the CJK face LibreOffice and Chromium embed

# 1. pdfTeX: a short English contract (Computer Modern Type 1 fonts; pdfTeX writes object
#    streams and a cross-reference stream by default) with two "Seal here" lines.
cat > "$work/latex.tex" <<'TEX'
\documentclass[a4paper,11pt]{article}
\usepackage[margin=25mm]{geometry}
\pdfinfo{/Title (Supply contract) /Author (yunzhang corpus)}
\begin{document}
\section*{Supply Contract No.\ SC-2026-017}
Party A: Shanghai Yunzhang Demo Technology Co., Ltd.\par
Party B: Example Supplier Co., Ltd.\par\medskip
\begin{enumerate}
\item Party B delivers the goods listed in the annex within thirty days.
\item Party A pays CNY 120,000.00 within ten days of acceptance.
\item This contract takes effect when both parties have sealed it.
\end{enumerate}
\vspace{40mm}
Party A (Seal here): \hspace{50mm} Party B (Seal here):
\end{document}
TEX
(cd "$work" && pdflatex -interaction=batchmode latex.tex >/dev/null)
cp "$work/latex.pdf" "$OUT/latex.pdf"

# 2. LibreOffice Writer: a two-page Chinese contract (terms, then the sealing page with 盖章处),
#    HTML imported as a Writer document, exported with an embedded CJK TrueType subset.
cat > "$work/libreoffice.html" <<'HTML'
<html><head><meta charset="utf-8"><title>采购合同</title>
<style>body,h1{font-family:"AR PL UMing CN";font-size:12pt}h1{font-size:20pt;text-align:center}</style>
</head><body>
<h1>采购合同</h1><p>合同编号：HT-2026-0042</p>
<p>甲方：上海云章示范科技有限公司</p><p>乙方：示范供应商有限公司</p>
<p>一、乙方于合同生效后三十日内交付附件所列货物。</p>
<p>二、甲方于验收合格后十日内支付人民币壹拾贰万元整。</p>
<p>三、本合同自双方盖章之日起生效，一式两份，双方各执一份。</p>
<p style="page-break-before:always">（以下无正文，为签章页）</p><br><br>
<p>甲方（盖章处）：　　　　　　　　乙方（盖章处）：</p>
<p>日期：2026 年 11 月 22 日</p></body></html>
HTML
soffice --headless --infilter="HTML (StarWriter)" --convert-to pdf:writer_pdf_Export \
  --outdir "$work" "$work/libreoffice.html" >/dev/null 2>&1
cp "$work/libreoffice.pdf" "$OUT/libreoffice.pdf"

# 3. Chromium's print-to-PDF of a web page (a bid letter as a browser shows it), Letter size.
cat > "$work/browser.html" <<'HTML'
<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>投标函</title>
<style>body{font-family:"AR PL UMing CN",serif;margin:30mm}h1{text-align:center}</style>
<h1>投标函</h1><p>致：某某公共资源交易中心</p>
<p>我方已仔细研究招标文件，愿以人民币叁拾万元整的投标总报价承担本项目。</p>
<p>投标有效期为开标之日起九十日。</p><p style="margin-top:40mm">投标人（盖章处）：</p>
<p>日期：2026 年 11 月 22 日</p></html>
HTML
chromium --headless --no-sandbox --disable-gpu --no-pdf-header-footer \
  --print-to-pdf="$work/browser.pdf" "file://$work/browser.html" >/dev/null 2>&1
cp "$work/browser.pdf" "$OUT/browser.pdf"

# 4. A scanned page: a greyscale JPEG of a printed page (150 dpi, slightly rotated, noisy, grey
#    paper), wrapped by img2pdf without re-encoding: an image-only page with no text at all.
"$PY" - "$UMING" "$work/scan.jpg" <<'PYTHON'
import random, sys
from PIL import Image, ImageDraw, ImageFilter, ImageFont
random.seed(7)
page = Image.new("L", (1240, 1754), 245)
draw = ImageDraw.Draw(page)
font = ImageFont.truetype(sys.argv[1], 40)
for i, line in enumerate(["授权委托书", "兹委托王经办办理投标事宜。", "委托人（盖章处）：",
                          "日期：2026 年 11 月 22 日"]):
    draw.text((150, 200 + i * 120), line, fill=30, font=font)
page = page.rotate(0.7, fillcolor=245, resample=Image.BICUBIC)
noise = Image.effect_noise(page.size, 18).point(lambda v: v - 128)
page = Image.blend(page, Image.merge("L", [noise]).filter(ImageFilter.GaussianBlur(0.6)), 0.08)
page.save(sys.argv[2], quality=70, dpi=(150, 150))
PYTHON
img2pdf --pagesize A4 -o "$OUT/scanned.pdf" "$work/scan.jpg"

# 5. A form: LibreOffice turns HTML form controls into PDF form fields (an AcroForm with three
#    text fields, one empty, and a ticked checkbox). Values stay ASCII: LibreOffice draws field
#    appearances in Helvetica, which has no CJK glyphs.
cat > "$work/form.html" <<'HTML'
<html><head><meta charset="utf-8"><title>参保登记表</title>
<style>body,h2{font-family:"AR PL UMing CN";font-size:12pt}h2{font-size:16pt}</style></head><body>
<h2>参保登记表</h2><form>
<p>单位名称 <input type="text" name="company" size="40"></p>
<p>统一社会信用代码 <input type="text" name="uscc" size="24" value="91310115MA1K4DEM05"></p>
<p>参保人数 <input type="text" name="headcount" size="6" value="120"></p>
<p><input type="checkbox" name="confirm" value="yes" checked> 以上信息真实有效</p></form>
<br><p>单位（盖章处）：</p></body></html>
HTML
soffice --headless --infilter="HTML (StarWriter)" \
  --convert-to 'pdf:writer_pdf_Export:{"ExportFormFields":{"type":"boolean","value":"true"}}' \
  --outdir "$work" "$work/form.html" >/dev/null 2>&1
cp "$work/form.pdf" "$OUT/form.pdf"

# 6. Object streams and a cross-reference stream (PDF 1.5), qpdf's rewrite of the LibreOffice
#    contract (which has neither).
qpdf --object-streams=generate --compress-streams=y "$OUT/libreoffice.pdf" "$OUT/object-streams.pdf"

# 7. Already signed, by someone else: a self-signed OpenSSL certificate (a CA the platform does
#    not know), signed with pyHanko as another signing service would (PAdES B-B, visible field).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
  -subj "/C=CN/O=Other Signing Service/CN=Other Signer" -keyout "$work/other.key" \
  -out "$work/other.crt" >/dev/null 2>&1
"$PY" - "$work/other.key" "$work/other.crt" "$OUT/latex.pdf" "$OUT/signed-elsewhere.pdf" <<'PYTHON'
import sys
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
key, cert, source, target = sys.argv[1:]
signer = signers.SimpleSigner.load(key, cert)
with open(source, "rb") as inf, open(target, "wb") as outf:
    signers.sign_pdf(IncrementalPdfFileWriter(inf), signers.PdfSignatureMetadata(
        field_name="Sig1", subfilter=fields.SigSeedSubFilter.PADES), signer=signer,
        new_field_spec=fields.SigFieldSpec("Sig1", on_page=0, box=(300, 60, 500, 120)),
        output=outf)
PYTHON

for f in "$OUT"/*.pdf; do
  qpdf --check "$f" >/dev/null || { echo "build-corpus: qpdf finds errors in $f" >&2; exit 1; }
done
ls -l "$OUT"/*.pdf
