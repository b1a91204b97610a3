"""The software key store's files: one JSON record per key, replaced whole, changed under a lock."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from yunzhang.domain.keys import KeyAlgorithm
from yunzhang.errors import ExternalServiceError, NotFound

KEY_ID = re.compile(r"^sw-[0-9a-f]{32}$")
TEXT_FIELDS = ("id", "algorithm", "label", "public_key", "kek_id", "wrapped_key", "nonce",
               "ciphertext", "created_at")
# Which version of a file was read: a write replaces the file by a new one (a new inode), so a
# key cached from one version is known to be stale once the name points at another.
Version = tuple[int, int, int]


class KeyFiles:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._prefix = os.path.join(directory, "")

    def path(self, key_id: str) -> Path:
        if not KEY_ID.fullmatch(key_id):  # also keeps ids from naming paths elsewhere
            raise NotFound(f"no key {key_id[:80]!r} in the software key store",
                           code="key.not_found")
        return self.directory / f"{key_id}.json"

    def ids(self) -> list[str]:
        """The ids of every key file, in order; other files in the directory are ignored."""
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("sw-*.json") if KEY_ID.fullmatch(p.stem))

    def version(self, key_id: str) -> Version | None:
        """The version the file is at now; ``None`` when it is gone. On every signature, so
        kept to one system call (no Path objects)."""
        if not KEY_ID.fullmatch(key_id):
            return None
        try:
            st = os.stat(f"{self._prefix}{key_id}.json")
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def read(self, key_id: str) -> tuple[dict[str, Any], Version]:
        path = self.path(key_id)
        try:
            with open(path, encoding="utf-8") as source:
                st = os.fstat(source.fileno())
                record = json.load(source)
        except FileNotFoundError:
            raise NotFound(f"no key {key_id} in the software key store",
                           code="key.not_found") from None
        except (OSError, ValueError) as exc:
            raise ExternalServiceError(f"the key file of {key_id} is unreadable: "
                                       f"{type(exc).__name__}", code="key.store") from None
        _check(key_id, record)
        return record, (st.st_ino, st.st_mtime_ns, st.st_size)

    def write(self, key_id: str, record: dict[str, Any]) -> None:
        """Write to a temporary name, sync, rename over the old file, sync the directory: a
        reader sees the old file or the new one, and a crash loses neither."""
        path = self.path(key_id)
        temp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(record, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, path)
            directory = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise ExternalServiceError(f"cannot write the key file of {key_id}: {exc.strerror}",
                                       code="key.store") from None

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive against every other change of a key file, from this process or another
        (destroy and KEK rotation read, change and write back). Readers do not take it."""
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ExternalServiceError(f"cannot lock the key directory {self.directory}: "
                                       f"{exc.strerror}", code="key.store") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock


def _check(key_id: str, record: object) -> None:
    """A record is used only when it is whole; anything else is reported, never half-used."""
    problem = None
    if not isinstance(record, dict):
        problem = "not a JSON object"
    elif missing := [f for f in TEXT_FIELDS if not isinstance(record.get(f), str)]:
        problem = f"missing or non-text fields {', '.join(missing)}"
    elif record["id"] != key_id:
        problem = "it names another key id"
    elif record["algorithm"] not in {a.value for a in KeyAlgorithm}:
        problem = "unknown algorithm"
    elif not isinstance(record.get("destroyed_at", 0), str | None):
        problem = "destroyed_at is missing or not text"
    if problem is not None:
        raise ExternalServiceError(f"the key file of {key_id} is damaged: {problem}",
                                   code="key.store")
