"""Benchmark of key custody: signatures per second through each KeyStore, next to the same
signature made directly with ``cryptography`` in the same process (the floor any store adds to).

Run ``.venv/bin/python benchmarks/keystore.py`` (SoftHSM2 installed, as ``make test`` does).
For each algorithm it makes one key per store and signs the same 1 KiB message (the size of
the signed attributes of a PDF signature) ``--count`` times on one thread, after a warm-up.
Output, one line per store and algorithm::

    ec-p256   cryptography    N sig/s   (the anchor)
    ec-p256   software        N sig/s   ratio x.xx of the anchor
    ec-p256   pkcs11          N sig/s   ratio x.xx of the anchor

The software store keeps unwrapped keys in memory after first use, so its figure is the cost of
the store's bookkeeping over ``cryptography``; SoftHSM2 computes in its own library through
PKCS #11 calls. Stamping (the signing issue) signs once per document through these stores.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.keystores import pkcs11_store, software_store  # noqa: E402
from yunzhang.adapters.keystore.software import make_private_key, sign_with  # noqa: E402
from yunzhang.domain.keys import KeyAlgorithm  # noqa: E402


def rate(sign: Callable[[bytes], bytes], message: bytes, count: int) -> float:
    for _ in range(max(count // 10, 5)):
        sign(message)
    started = time.perf_counter()
    for _ in range(count):
        sign(message)
    return count / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args(argv)
    message = os.urandom(1024)
    software = software_store(Path(tempfile.mkdtemp(prefix="yunzhang-bench-keys-")))
    hsm = pkcs11_store()
    print(f"keystore benchmark: {args.count} signatures of 1 KiB per case, one thread, "
          f"{os.cpu_count()} CPUs; anchor: cryptography signing directly")
    for algorithm in KeyAlgorithm:
        count = args.count if algorithm is KeyAlgorithm.EC_P256 else max(args.count // 10, 50)
        key = make_private_key(algorithm)
        anchor = rate(lambda m: sign_with(key, m), message, count)
        print(f"{algorithm.value:<9} {'cryptography':<13} {anchor:10,.0f} sig/s   (the anchor)")
        for name, store in (("software", software), ("pkcs11", hsm)):
            ref = store.generate(algorithm, label="bench")
            measured = rate(lambda m: store.sign(ref.key_id, m), message, count)
            print(f"{algorithm.value:<9} {name:<13} {measured:10,.0f} sig/s   "
                  f"ratio {measured / anchor:.2f} of the anchor")
            store.destroy(ref.key_id)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
