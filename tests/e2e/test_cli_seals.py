"""`yunzhang pki`, `certs`, `seals` and `staff` run for real on the demo data: the demo has a
claimed contract seal (red) and an approved official seal (grey); errors are one line with the
documented exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tests.e2e.test_cli import Cli, make_cli
from tests.e2e.seals_support import openssl
from yunzhang.services.demo import DEMO_USCC

LEGAL_REP, ADMIN, AGENT, REVIEWER = "13800000001", "13800000002", "13800000003", "13800000004"


@pytest.fixture
def demo_cli(blank_database_url: str, tmp_path: Path) -> Cli:
    cli = make_cli(tmp_path, blank_database_url)
    seeded = cli("demo", "--no-serve")
    assert seeded.returncode == 0, seeded.stderr
    assert "合同专用章  (red)" in seeded.stdout and "(grey)" in seeded.stdout
    return cli


def seal_ids(cli: Cli) -> dict[str, str]:
    listed = cli("seals", "list", DEMO_USCC, "--as", AGENT)
    assert listed.returncode == 0, listed.stderr
    found = {}
    for line in listed.stdout.splitlines():
        seal_id, status, colour, seal_type = line.split()[:4]
        found[seal_type] = seal_id
        assert (seal_type, status, colour) in {("contract", "active", "red"),
                                               ("official", "approved", "grey")}
    return found


def test_claim_the_grey_seal_and_check_its_certificate(demo_cli: Cli, tmp_path: Path) -> None:
    ids = seal_ids(demo_cli)
    claimed = demo_cli("seals", "claim", ids["official"], "--as", ADMIN)
    assert claimed.returncode == 0, claimed.stderr
    assert claimed.stdout.strip() == f"seal {ids['official']} claimed: active"
    twice = demo_cli("seals", "claim", ids["official"], "--as", ADMIN)
    assert twice.returncode == 4
    assert twice.stderr.strip() == f"error: seal {ids['official']} has already been claimed " \
                                   "[seal.already_claimed]"
    shown = demo_cli("seals", "show", ids["official"], "--as", LEGAL_REP, "--image-out",
                     str(tmp_path / "official.png"))
    serial = re.search(r"cert ([0-9a-f]+)", shown.stdout)
    assert serial and "valid" in shown.stdout
    with Image.open(tmp_path / "official.png") as image:
        assert image.mode == "RGBA" and image.size == (992, 992)

    exported = demo_cli("pki", "export", str(tmp_path / "pki"))
    assert exported.returncode == 0, exported.stderr
    assert sorted(p.name for p in (tmp_path / "pki").iterdir()) == [
        "organization.pem", "person.pem", "root.pem", "tsa.pem"]
    assert demo_cli("pki", "crl", "organization", "--out", str(tmp_path / "org.crl")).returncode == 0
    openssl("crl", "-inform", "DER", "-in", str(tmp_path / "org.crl"), "-CAfile",
            str(tmp_path / "pki" / "organization.pem"), "-noout")


def test_refusals_are_one_line_with_their_exit_codes(demo_cli: Cli, tmp_path: Path) -> None:
    ids = seal_ids(demo_cli)
    cases = [
        (("seals", "apply", DEMO_USCC, "--type", "official", "--as", LEGAL_REP), 2,
         "seal.filing_required"),
        (("seals", "apply", DEMO_USCC, "--type", "stamp_of_doom", "--as", LEGAL_REP), 3,
         "seal_type.not_found"),
        (("seals", "apply", DEMO_USCC, "--type", "contract", "--as", AGENT), 5, "permission.denied"),
        (("seals", "approve", ids["official"], "--as", LEGAL_REP), 5, "permission.denied"),
        (("seals", "approve", ids["official"], "--as", REVIEWER), 4, "seal.nothing_to_review"),
        (("seals", "claim", "not-a-uuid", "--as", ADMIN), 2, "cli.seal_id"),
        (("seals", "suspend", ids["official"], "--reason", "x", "--as", ADMIN), 4, "seal.state"),
        (("pki", "init"), 4, "pki.exists"),
        (("pki", "crl", "nowhere", "--out", str(tmp_path / "x")), 3, "pki.ca_not_found"),
        (("staff", "add", LEGAL_REP, "--role", "emperor"), 2, "staff.role"),
        (("seals", "add-type", "Bad Code", "--name", "x", "--shape", "round"), 2, "seal_type.code"),
    ]
    for args, exit_code, code in cases:
        done = demo_cli(*args)
        assert (done.returncode, done.stderr.strip().endswith(f"[{code}]")) == (exit_code, True), \
            (args, done.stdout, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1
    not_image = tmp_path / "mold.jpg"
    not_image.write_text("这不是图片")
    done = demo_cli("seals", "apply", DEMO_USCC, "--type", "contract", "--image", str(not_image),
                    "--shape", "round", "--width", "42", "--as", LEGAL_REP)
    assert done.returncode == 2 and done.stderr.strip().endswith("[image.unsupported]")


def test_a_photographed_mold_is_previewed_and_applied(demo_cli: Cli, tmp_path: Path) -> None:
    photo = Image.new("RGB", (1200, 900), (245, 243, 238))
    draw = ImageDraw.Draw(photo)
    draw.ellipse((300, 150, 900, 750), outline=(200, 30, 40), width=24)
    draw.regular_polygon((600, 450, 110), 5, fill=(200, 30, 40))
    photo.save(tmp_path / "mold.jpg", quality=90)
    out = tmp_path / "preview.png"
    previewed = demo_cli("seals", "preview", str(tmp_path / "mold.jpg"), "--out", str(out),
                         "--shape", "round", "--width", "40", "--colour", "blue")
    assert previewed.returncode == 0, previewed.stderr
    with Image.open(out) as processed:
        assert processed.mode == "RGBA" and processed.size == (945, 945)
        assert processed.getpixel((0, 0))[3] == 0
        inked = [p for p in processed.get_flattened_data() if p[3] > 200]
        assert inked and all(p[2] > p[0] for p in inked)  # recoloured blue
    applied = demo_cli("seals", "apply", DEMO_USCC, "--type", "contract", "--name", "投标专用章",
                       "--image", str(tmp_path / "mold.jpg"), "--shape", "round", "--width", "40",
                       "--as", ADMIN)
    assert applied.returncode == 0, applied.stderr
    seal_id = applied.stdout.split()[1]
    queue = demo_cli("seals", "queue", "--as", REVIEWER)
    assert seal_id in queue.stdout
    assert demo_cli("seals", "reject", seal_id, "--reason", "边缘缺损", "--as", REVIEWER).returncode == 0
    shown = demo_cli("seals", "show", seal_id, "--as", ADMIN)
    assert "rejected" in shown.stdout and "uploaded" in shown.stdout and "边缘缺损" in shown.stdout


def test_the_demo_agent_stamps_a_pdf(demo_cli: Cli, tmp_path: Path) -> None:
    import io
    import subprocess

    ids = seal_ids(demo_cli)
    source, out = tmp_path / "contract.pdf", tmp_path / "contract-stamped.pdf"
    buffer = io.BytesIO()
    Image.new("RGB", (1240, 1754), "white").save(buffer, format="PDF", resolution=150)
    source.write_bytes(buffer.getvalue())
    done = demo_cli("stamp", str(source), "--out", str(out), "--seal", ids["contract"],
                    "--system", "demo.bidding", "--page", "1", "--x", "130", "--y", "220",
                    "--as", AGENT)
    assert done.returncode == 0, done.stderr
    assert source.read_bytes() == buffer.getvalue()  # the input is never changed
    report = subprocess.run(["pdfsig", str(out)], capture_output=True, text=True).stdout
    assert "Signature is Valid." in report and "合同专用章" in report
    verified = demo_cli("verify", str(out))
    assert verified.returncode == 0 and verified.stdout.startswith("OK ") and "(seal, " in verified.stdout
    as_json = demo_cli("verify", str(out), "--json")
    parsed = __import__("json").loads(as_json.stdout)
    assert parsed["ok"] is True and parsed["signatures"][0]["kind"] == "seal"
    assert parsed["signatures"][0]["uscc"] == DEMO_USCC
    unsigned = demo_cli("verify", str(source))
    assert unsigned.returncode == 10 and unsigned.stderr.strip() == "error: no signatures [verify.failed]"
    refusals = [  # no seal grant for that system; the output exists
        (tmp_path / "tax.pdf", "demo.tax", 5, "permission.denied"),
        (out, "demo.bidding", 2, "stamp.overwrite"),
    ]
    for target, system, exit_code, code in refusals:
        again = demo_cli("stamp", str(source), "--out", str(target), "--seal", ids["contract"],
                         "--system", system, "--as", AGENT)
        assert again.returncode == exit_code and again.stderr.strip().endswith(f"[{code}]")
    assert not (tmp_path / "tax.pdf").exists()
    same = demo_cli("stamp", str(source), "--out", str(source), "--seal", ids["contract"],
                    "--system", "demo.bidding", "--as", AGENT)
    assert same.returncode == 2 and "overwrite the input" in same.stderr
    official = demo_cli("stamp", str(source), "--out", str(tmp_path / "o.pdf"), "--seal",
                        ids["official"], "--system", "demo.bidding", "--as", LEGAL_REP)
    assert official.returncode == 4 and official.stderr.strip().endswith("[seal.not_usable]")
    assert not (tmp_path / "o.pdf").exists()


def test_stamping_a_directory_resumes_without_stamping_twice(demo_cli: Cli, tmp_path: Path) -> None:
    import io
    import json
    import subprocess

    from yunzhang.cli.stamp import progress_bar as bar

    ids = seal_ids(demo_cli)
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    for n in range(3):
        buffer = io.BytesIO()
        Image.new("RGB", (620, 877), (255, 255, 255 - n)).save(buffer, format="PDF", resolution=75)
        (inbox / f"bid-{n}.pdf").write_bytes(buffer.getvalue())
    (inbox / "broken.pdf").write_bytes(b"%PDF-1.7 broken")
    args = ("stamp", str(inbox), "--out", str(outbox), "--seal", ids["contract"], "--system",
            "demo.bidding", "--profile", "B-B", "--as", AGENT)
    first = demo_cli(*args)
    assert first.returncode == 11, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == f"{bar(1, 4)} bid-0.pdf: stamped"
    assert lines[3].startswith(f"{bar(4, 4)} broken.pdf: error:")
    assert bar(1, 4) == "[#####...............] 1/4"
    assert lines[-1] == f"3 of 4 stamped or already stamped in {outbox}"
    stamped = {p.name: p.read_bytes() for p in outbox.glob("*.pdf")}
    assert sorted(stamped) == ["bid-0.pdf", "bid-1.pdf", "bid-2.pdf"]
    for name in stamped:
        report = subprocess.run(["pdfsig", str(outbox / name)], capture_output=True, text=True).stdout
        assert report.count("Signature is Valid.") == 1

    # A crash after bid-1's output was written but before the manifest recorded it:
    manifest = json.loads((outbox / ".yunzhang-stamp.json").read_text())
    del manifest["bid-1.pdf"]
    (outbox / ".yunzhang-stamp.json").write_text(json.dumps(manifest))
    (inbox / "broken.pdf").unlink()
    again = demo_cli(*args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.splitlines()[:3] == [
        f"{bar(1, 3)} bid-0.pdf: already stamped, skipped",
        f"{bar(2, 3)} bid-1.pdf: already stamped (found after an interruption), skipped",
        f"{bar(3, 3)} bid-2.pdf: already stamped, skipped"]
    assert {p.name: p.read_bytes() for p in outbox.glob("*.pdf")} == stamped  # nothing stamped twice
    audit = demo_cli("audit", "list", "--limit", "20").stdout
    assert audit.count("seal:use") == 3 + 1  # three stamps, one refused broken file


def test_the_readme_stamp_lines_work_as_written(demo_cli: Cli, tmp_path: Path) -> None:
    """The quick start's `yunzhang stamp ...` line, taken from the README and run as written
    (with its exported client secret) against a freshly seeded demo; then the README's verify."""
    import shlex
    import shutil
    import subprocess

    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    block = readme.split("### Stamp a PDF (用印)", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    lines = [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]
    exported = dict(re.findall(r"(YUNZHANG_[A-Z_]+)=(\S+)", lines[0]))
    assert exported["YUNZHANG_CLIENT_SECRET"] == "demo-bidding-client-secret-yunzhang-2026"
    stamp_line, verify_line = (shlex.split(line) for line in lines[1:3])
    assert stamp_line[:2] == ["yunzhang", "stamp"] and verify_line[:2] == ["yunzhang", "verify"]
    (tmp_path / "examples").mkdir()
    shutil.copy(root / "examples" / "contract.pdf", tmp_path / "examples" / "contract.pdf")
    cli = Cli({**demo_cli.env, "YUNZHANG_CLIENT_SECRET": exported["YUNZHANG_CLIENT_SECRET"]},
              tmp_path)
    done = cli(*stamp_line[1:])
    assert done.returncode == 0, done.stderr
    assert "on the keyword '盖章处'" in done.stdout
    report = subprocess.run(["pdfsig", str(tmp_path / "OUT.pdf")], capture_output=True,
                            text=True).stdout
    assert "Signature is Valid." in report and "合同专用章" in report
    verified = cli(*verify_line[1:])
    assert verified.returncode == 0 and verified.stdout.startswith("OK "), verified.stdout
    audit = cli("audit", "list", "--limit", "5").stdout
    assert "seal:auto_stamp" in audit and "system:demo.bidding" in audit

    # The same file asked again (its idempotency key is the input's and the request's digest)
    # is not stamped twice; bad credentials and incomplete commands are one line each.
    args = stamp_line[1:]
    cases = [
        (cli, [*args[:args.index("--out") + 1], "AGAIN.pdf", *args[args.index("--out") + 2:]],
         4, "stamp.replayed"),
        (Cli({**cli.env, "YUNZHANG_CLIENT_SECRET": "wrong-secret"}, tmp_path),
         [*args[:3], "W.pdf", *args[4:]], 5, "client.auth"),
        (cli, [*args[:3], "S.pdf", *args[4:args.index("--scope")]], 2, "cli.scope"),
        (cli, [*args[:3], "B.pdf", *args[4:], "--as", AGENT], 2, "cli.stamper"),
        (cli, [*args[:3], "T.pdf", "--seal", f"{DEMO_USCC}:finance",
               *args[args.index("--client"):]], 3, "seal.not_found"),
    ]
    for runner, argv, exit_code, code in cases:
        done = runner(*argv)
        assert (done.returncode, done.stderr.strip().rsplit(" ", 1)[-1]) == (
            exit_code, f"[{code}]"), (argv, done.stderr)
    assert sorted(p.name for p in tmp_path.glob("*.pdf")) == ["OUT.pdf"]
