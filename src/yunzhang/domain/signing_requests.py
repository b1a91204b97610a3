"""Stamp and sign requests (用印/签署请求) from business systems: documents kept by the platform
until every required step is done, each step a seal of an enterprise (applied by whoever the
decision function allows, with the cloud seal) or a named person's own signature (made in the
wallet with the person-signing key). Steps go in order (sequential) or in any order (parallel);
each is carried out through a scan session bound to that step, and each signature is an
incremental update of the document the previous steps produced.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from yunzhang.errors import Conflict, InvalidInput

MAX_DOCUMENTS = 10
MAX_STEPS = 20
MAX_TITLE = 200


class StepKind(StrEnum):
    STAMP = "stamp"  # an enterprise's seal, applied by a person allowed to use it
    SIGN = "sign"  # a named person's own signature with the key in their wallet


class SigningOrder(StrEnum):
    SEQUENTIAL = "sequential"  # step 1, then step 2, ...
    PARALLEL = "parallel"  # any open step, in any order


class RequestStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"  # every step done
    DECLINED = "declined"  # a signer said no: the request ends
    CANCELLED = "cancelled"  # by the business system
    EXPIRED = "expired"  # not completed in time


class StepState(StrEnum):
    OPEN = "open"
    DONE = "done"
    DECLINED = "declined"


def check_title(raw: str) -> str:
    text = " ".join(raw.split())
    if not text or len(text) > MAX_TITLE:
        raise InvalidInput(f"a request's title has 1 to {MAX_TITLE} characters",
                           code="signing_request.title")
    return text


@dataclass(eq=False)
class SigningRequest:
    business_system: str  # client id
    title: str  # shown in the wallet
    order: SigningOrder
    created_at: datetime
    expires_at: datetime
    scope: str | None = None  # the business the documents are for (decides seal use)
    reference: str | None = None  # the business system's own reference, returned as given
    status: RequestStatus = RequestStatus.OPEN
    completed_at: datetime | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    def status_at(self, at: datetime) -> RequestStatus:
        if self.status is RequestStatus.OPEN and at >= self.expires_at:
            return RequestStatus.EXPIRED
        return self.status

    def require_open(self, at: datetime) -> None:
        status = self.status_at(at)
        if status is not RequestStatus.OPEN:
            raise Conflict(f"request {self.id} is {status.value}; nothing more can be done with "
                           f"it", code=f"signing_request.{status.value}")


@dataclass(eq=False)
class RequestStep:
    request_id: uuid.UUID
    position: int  # from 1, as people count
    kind: StepKind
    label: str  # what the wallet shows: the seal's enterprise and type, or the signer's name
    placement: dict[str, object]  # domain.stamping.Placement's fields
    seal_id: uuid.UUID | None = None  # STAMP
    person_id: uuid.UUID | None = None  # SIGN
    state: StepState = StepState.OPEN
    done_by: uuid.UUID | None = None  # the person who stamped, signed or declined
    done_at: datetime | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(eq=False)
class RequestDocument:
    """The current version of one document: the original with every signature so far."""

    request_id: uuid.UUID
    position: int
    name: str
    sha256_original: str
    sha256: str
    content: bytes = field(repr=False)
    id: uuid.UUID = field(default_factory=uuid.uuid4)


def actionable(steps: list[RequestStep], order: SigningOrder) -> list[RequestStep]:
    """The steps that may be carried out now: in a sequential request only the first open one."""
    ordered = sorted(steps, key=lambda s: s.position)
    if any(s.state is StepState.DECLINED for s in ordered):
        return []
    open_steps = [s for s in ordered if s.state is StepState.OPEN]
    return open_steps[:1] if order is SigningOrder.SEQUENTIAL else open_steps


def require_actionable(step: RequestStep, steps: list[RequestStep], order: SigningOrder) -> None:
    if step.state is not StepState.OPEN:
        raise Conflict(f"step {step.position} is already {step.state.value}",
                       code="signing_request.step_done")
    if step not in actionable(steps, order):
        first = actionable(steps, order)
        raise Conflict(f"this request is signed in order; step "
                       f"{first[0].position if first else '?'} comes before step {step.position}",
                       code="signing_request.not_your_turn")


def subject_line(request: SigningRequest, step: RequestStep, total: int) -> str:
    """The line the wallet shows (and the person's signature covers) for a step of a request."""
    what = "seal" if step.kind is StepKind.STAMP else "signature of"
    return f"{request.title} — step {step.position} of {total}: {what} {step.label}"
