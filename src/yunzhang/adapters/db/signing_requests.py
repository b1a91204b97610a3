"""Repositories of stamp/sign requests (with their steps, documents and the signatures prepared
for wallets), handwritten signatures and bindings."""

from __future__ import annotations

import base64
import uuid

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from yunzhang.adapters.db import tables
from yunzhang.domain.bindings import Binding, BindingStatus
from yunzhang.domain.handwriting import SignatureImage
from yunzhang.domain.signing_requests import RequestDocument, RequestStep, SigningRequest
from yunzhang.domain.stamping import PreparedSignature


class SqlSigningRequests:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, request: SigningRequest, steps: list[RequestStep],
            documents: list[RequestDocument]) -> None:
        self._s.add(request)
        self._s.flush()  # the request's row before the rows that refer to it
        self._s.add_all([*steps, *documents])
        self._s.flush()

    def get(self, request_id: uuid.UUID, *, lock: bool = False) -> SigningRequest | None:
        # The row lock puts the steps of one request one after another.
        return self._s.get(SigningRequest, request_id, with_for_update=lock or None)

    def steps(self, request_id: uuid.UUID) -> list[RequestStep]:
        c = tables.request_steps.c
        return list(self._s.scalars(select(RequestStep).where(c.request_id == request_id)
                                    .order_by(c.position)))

    def step(self, step_id: uuid.UUID) -> RequestStep | None:
        return self._s.get(RequestStep, step_id)

    def documents(self, request_id: uuid.UUID) -> list[RequestDocument]:
        c = tables.request_documents.c
        return list(self._s.scalars(select(RequestDocument).where(c.request_id == request_id)
                                    .order_by(c.position)))

    def keep_prepared(self, session_id: str, prepared: list[PreparedSignature]) -> None:
        t = tables.prepared_signatures
        self._s.execute(delete(t).where(t.c.session_id == session_id))
        if prepared:
            self._s.execute(insert(t), [{
                "session_id": session_id, "position": n, "prepared": p.prepared,
                "to_sign": p.to_sign, "document_digest": p.document_digest,
                "reserved_start": p.reserved_start, "reserved_end": p.reserved_end,
                "certificate": p.certificate,
                "chain": [base64.b64encode(c).decode() for c in p.chain]}
                for n, p in enumerate(prepared, start=1)])

    def prepared(self, session_id: str) -> list[PreparedSignature]:
        t = tables.prepared_signatures
        rows = self._s.execute(select(t).where(t.c.session_id == session_id)
                               .order_by(t.c.position)).mappings()
        return [PreparedSignature(
            prepared=r["prepared"], to_sign=r["to_sign"], document_digest=r["document_digest"],
            reserved_start=r["reserved_start"], reserved_end=r["reserved_end"],
            certificate=r["certificate"],
            chain=tuple(base64.b64decode(c) for c in r["chain"])) for r in rows]


class SqlSignatureImages:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, image: SignatureImage) -> None:
        self._s.add(image)
        self._s.flush()

    def current(self, person_id: uuid.UUID) -> SignatureImage | None:
        c = tables.signature_images.c
        return self._s.scalars(select(SignatureImage).where(c.person_id == person_id)
                               .order_by(c.created_at.desc()).limit(1)).first()


class SqlBindings:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, binding: Binding) -> None:
        self._s.add(binding)
        self._s.flush()

    def get(self, binding_id: uuid.UUID) -> Binding | None:
        return self._s.get(Binding, binding_id)

    def of_system(self, business_system: str, *, account: str | None = None) -> list[Binding]:
        c = tables.bindings.c
        query = select(Binding).where(c.business_system == business_system,
                                      c.status == BindingStatus.ACTIVE.value)
        if account is not None:
            query = query.where(c.account == account)
        return list(self._s.scalars(query.order_by(c.bound_at.desc())))
