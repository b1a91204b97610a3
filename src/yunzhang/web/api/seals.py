"""Seals: apply (with a photographed mold or a generated image), review, claim, suspend, resume,
revoke; the mold history and images; the mold-processing preview; seal types."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from pydantic import Field

from yunzhang.domain.seal_images import CropBox, MoldProcessing, SealColour, SealShape, SealSize
from yunzhang.domain.seals import ImageSource, ImageStatus, SealImage, SealStatus
from yunzhang.errors import InvalidInput
from yunzhang.services import seal_types, seals
from yunzhang.web.api import Public, Strict
from yunzhang.web.deps import ContainerDep, PersonCaller, Reader, Writer

router = APIRouter(prefix="/api/v1", tags=["seals"])

# Routes whose body is an image upload: the body limit is max_image_bytes plus the form's own.
UPLOAD_PATHS = (r"/api/v1/enterprises/[^/]+/seals", r"/api/v1/seals/[^/]+/molds",
                r"/api/v1/seal-molds/preview")
PNG = {"content": {"image/png": {}}, "description": "a transparent PNG"}


class SealImagePublic(Public):
    id: int
    source: ImageSource
    status: ImageStatus  # valid (有效), pending, superseded or rejected (无效)
    sha256: str
    shape: SealShape
    width_mm: float
    height_mm: float
    colour: SealColour
    width_px: int
    height_px: int
    dpi: int
    uploaded_by: uuid.UUID
    uploaded_at: datetime
    reviewed_at: datetime | None
    review_note: str | None
    url: str


class SealPublic(Public):
    id: uuid.UUID
    enterprise_id: uuid.UUID
    name: str
    type: str
    type_name: str
    status: SealStatus
    colour: str = Field(description="red: usable; grey: approved, to be claimed; none otherwise")
    filing_number: str | None
    seal_code: str | None
    applied_by: uuid.UUID
    applied_at: datetime
    claimed_by: uuid.UUID | None
    claimed_at: datetime | None
    status_reason: str | None
    certificate_serial: str | None
    image: SealImagePublic | None


class SealDetailPublic(SealPublic):
    history: list[SealImagePublic]


class ReviewItemPublic(SealPublic):
    uscc: str
    enterprise_name: str


def _image(image: SealImage | None) -> SealImagePublic | None:
    if image is None:
        return None
    return SealImagePublic(
        id=image.id or 0, source=image.source, status=image.status, sha256=image.sha256,
        shape=image.shape, width_mm=image.width_mm, height_mm=image.height_mm,
        colour=image.colour, width_px=image.width_px, height_px=image.height_px, dpi=image.dpi,
        uploaded_by=image.uploaded_by, uploaded_at=image.uploaded_at,
        reviewed_at=image.reviewed_at, review_note=image.review_note,
        url=f"/api/v1/seals/{image.seal_id}/images/{image.id}.png")


def _seal(view: seals.SealView) -> dict[str, Any]:
    s = view.seal
    return dict(id=s.id, enterprise_id=s.enterprise_id, name=s.name, type=s.type_code,
                type_name=view.seal_type.name, status=s.status, colour=s.status.colour,
                filing_number=s.filing_number, seal_code=s.seal_code, applied_by=s.applied_by,
                applied_at=s.applied_at, claimed_by=s.claimed_by, claimed_at=s.claimed_at,
                status_reason=s.status_reason,
                certificate_serial=view.certificate.serial if view.certificate else None,
                image=_image(view.image))


def _crop(raw: str | None) -> CropBox | None:
    if not raw:
        return None
    try:
        left, top, width, height = (int(p) for p in raw.split(","))
    except ValueError:
        raise InvalidInput("crop is left,top,width,height in pixels, e.g. 10,20,800,800",
                           code="image.crop") from None
    return CropBox(left, top, width, height)


def _size(width_mm: float | None, height_mm: float | None) -> SealSize | None:
    return SealSize.of(width_mm, height_mm) if width_mm is not None else None


async def _mold(file: UploadFile | None, *, shape: SealShape | None, width_mm: float | None,
                height_mm: float | None, colour: SealColour, crop: str | None, rotate: int,
                brightness: float, contrast: float, default_shape: SealShape | None
                ) -> seals.MoldSource:
    if file is None:
        return seals.Generated(size=_size(width_mm, height_mm), colour=colour)
    shape = shape or default_shape
    if shape is None:
        raise InvalidInput("say the mold's shape: round, oval or square", code="image.shape")
    if width_mm is None:
        raise InvalidInput("say the mold's size in millimetres (width_mm, and height_mm for an "
                           "oval seal)", code="seal.size")
    photo = await file.read()
    return seals.Uploaded(photo, MoldProcessing(
        shape=shape, size=SealSize.of(width_mm, height_mm), crop=_crop(crop), rotate=rotate,
        brightness=brightness, contrast=contrast, colour=colour))


Shape = Annotated[SealShape | None, Form(description="round, oval or square")]
Width = Annotated[float | None, Form(description="millimetres, e.g. 42")]
Height = Annotated[float | None, Form(description="millimetres; default: the width")]
Colour = Annotated[SealColour, Form()]
Crop = Annotated[str | None, Form(max_length=64, description="left,top,width,height in pixels")]
Rotate = Annotated[int, Form(description="0, 90, 180 or 270, clockwise")]
Factor = Annotated[float, Form(description="1.0 leaves it unchanged")]
Photo = Annotated[UploadFile | None, File(description="PNG or JPEG photo of the physical mold; "
                                                      "leave out to generate the image")]


@router.post("/enterprises/{uscc}/seals", status_code=201, response_model=SealPublic)
async def apply_seal(
    uscc: str, auth: Writer, caller: PersonCaller, c: ContainerDep,
    type: Annotated[str, Form(max_length=32)],
    name: Annotated[str | None, Form(max_length=100)] = None,
    filing_number: Annotated[str | None, Form(max_length=64)] = None,
    seal_code: Annotated[str | None, Form(max_length=32)] = None,
    file: Photo = None, shape: Shape = None, width_mm: Width = None, height_mm: Height = None,
    colour: Colour = SealColour.RED, crop: Crop = None, rotate: Rotate = 0,
    brightness: Factor = 1.0, contrast: Factor = 1.0,
) -> SealPublic:
    """申请印章 (multipart/form-data): with `file`, a photographed mold processed as on the
    upload page; without, an image generated from the seal type's template."""
    mold = await _mold(file, shape=shape, width_mm=width_mm, height_mm=height_mm, colour=colour,
                       crop=crop, rotate=rotate, brightness=brightness, contrast=contrast,
                       default_shape=None)
    seal = await run_in_threadpool(
        seals.apply_seal,
        seals.ApplySeal(auth.person.id, uscc, type, mold, name, filing_number, seal_code),
        caller=caller, uow=c.uow, artist=c.artist, clock=c.clock)
    view, _ = seals.get_seal(auth.person.id, seal.id, caller=caller, uow=c.uow, clock=c.clock)
    return SealPublic(**_seal(view))


@router.get("/enterprises/{uscc}/seals", response_model=list[SealPublic])
def list_seals(uscc: str, auth: Reader, caller: PersonCaller, c: ContainerDep) -> list[SealPublic]:
    """我的印章: red ones are usable, grey ones wait to be claimed."""
    views = seals.list_seals(auth.person.id, uscc, caller=caller, uow=c.uow, clock=c.clock)
    return [SealPublic(**_seal(v)) for v in views]


@router.get("/seals/{seal_id}", response_model=SealDetailPublic)
def get_seal(seal_id: uuid.UUID, auth: Reader, caller: PersonCaller,
             c: ContainerDep) -> SealDetailPublic:
    """One seal with every mold ever uploaded (有效/无效上传记录)."""
    view, history = seals.get_seal(auth.person.id, seal_id, caller=caller, uow=c.uow,
                                   clock=c.clock)
    return SealDetailPublic(**_seal(view),
                            history=[i for i in map(_image, history) if i is not None])


@router.get("/seals/{seal_id}/images/{image_id}.png", response_class=Response,
            responses={200: PNG})
def seal_image(seal_id: uuid.UUID, image_id: int, auth: Reader, caller: PersonCaller,
               c: ContainerDep) -> Response:
    image = seals.image_png(auth.person.id, seal_id, image_id, caller=caller, uow=c.uow,
                            clock=c.clock)
    return Response(image.png, media_type="image/png",
                    headers={"Cache-Control": "private, max-age=3600",
                             "ETag": f'"{image.sha256}"'})


@router.post("/seals/{seal_id}/molds", status_code=201, response_model=SealImagePublic)
async def upload_mold(
    seal_id: uuid.UUID, auth: Writer, caller: PersonCaller, c: ContainerDep,
    file: Photo = None, shape: Shape = None, width_mm: Width = None, height_mm: Height = None,
    colour: Colour = SealColour.RED, crop: Crop = None, rotate: Rotate = 0,
    brightness: Factor = 1.0, contrast: Factor = 1.0,
) -> SealImagePublic:
    """A new mold for the seal (multipart/form-data, as for applying); reviewed like the first."""
    mold = await _mold(file, shape=shape, width_mm=width_mm, height_mm=height_mm, colour=colour,
                       crop=crop, rotate=rotate, brightness=brightness, contrast=contrast,
                       default_shape=None)
    image = await run_in_threadpool(seals.upload_mold,
                                    seals.UploadMold(auth.person.id, seal_id, mold),
                                    caller=caller, uow=c.uow, artist=c.artist, clock=c.clock)
    result = _image(image)
    assert result is not None
    return result


@router.post("/seal-molds/preview", response_class=Response, responses={200: PNG})
async def preview_mold(
    auth: Reader, c: ContainerDep, file: Annotated[UploadFile, File()],
    shape: Annotated[SealShape, Form()], width_mm: Annotated[float, Form()],
    height_mm: Height = None, colour: Colour = SealColour.RED, crop: Crop = None,
    rotate: Rotate = 0, brightness: Factor = 1.0, contrast: Factor = 1.0,
) -> Response:
    """The processed mold as it would be stored, not stored: crop, rotate, brightness, contrast,
    transparent background, colour (seed 002 §4.1 ②)."""
    processing = MoldProcessing(shape=shape, size=SealSize.of(width_mm, height_mm),
                                crop=_crop(crop), rotate=rotate, brightness=brightness,
                                contrast=contrast, colour=colour)
    data = await run_in_threadpool(seals.preview, await file.read(), processing, artist=c.artist)
    return Response(data.png, media_type="image/png")


class ReviewRequest(Strict):
    approve: bool
    reason: Annotated[str | None, Field(max_length=500)] = None


class ReasonRequest(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


@router.get("/reviews/seals", response_model=list[ReviewItemPublic])
def review_queue(auth: Reader, caller: PersonCaller, c: ContainerDep) -> list[ReviewItemPublic]:
    """Seal reviewers' queue: seals with a mold waiting, oldest first."""
    items = seals.pending_reviews(auth.person.id, caller=caller, uow=c.uow, clock=c.clock)
    return [ReviewItemPublic(**_seal(v), uscc=e.uscc,
                             enterprise_name=e.name) for v, e in items]


@router.post("/seals/{seal_id}/review", response_model=SealImagePublic)
def review(seal_id: uuid.UUID, body: ReviewRequest, auth: Writer, caller: PersonCaller,
           c: ContainerDep) -> SealImagePublic:
    """Approve or reject (with a reason) the seal's pending mold; the applicant gets an SMS."""
    image = seals.review_mold(seals.ReviewMold(auth.person.id, seal_id, body.approve, body.reason),
                              caller=caller, uow=c.uow, clock=c.clock)
    result = _image(image)
    assert result is not None
    return result


@router.post("/seals/{seal_id}/claim", response_model=SealPublic)
def claim(seal_id: uuid.UUID, auth: Writer, caller: PersonCaller, c: ContainerDep) -> SealPublic:
    """申领: the seal's key is made in the key store and certified; the seal turns red."""
    seals.claim_seal(seals.ClaimSeal(auth.person.id, seal_id), caller=caller, uow=c.uow,
                     keys=c.keys, factory=c.x509, clock=c.clock, settings=c.settings)
    view, _ = seals.get_seal(auth.person.id, seal_id, caller=caller, uow=c.uow, clock=c.clock)
    return SealPublic(**_seal(view))


def _change(change: str, seal_id: uuid.UUID, reason: str, auth: Writer, caller: PersonCaller,
            c: ContainerDep) -> SealPublic:
    seals.change_seal(change, seals.ChangeSeal(auth.person.id, seal_id, reason), caller=caller,
                      uow=c.uow, keys=c.keys, factory=c.x509, clock=c.clock)
    view, _ = seals.get_seal(auth.person.id, seal_id, caller=caller, uow=c.uow, clock=c.clock)
    return SealPublic(**_seal(view))


@router.post("/seals/{seal_id}/suspend", response_model=SealPublic)
def suspend(seal_id: uuid.UUID, body: ReasonRequest, auth: Writer, caller: PersonCaller,
            c: ContainerDep) -> SealPublic:
    """Stamping is refused from this moment until the seal is resumed."""
    return _change("suspend", seal_id, body.reason, auth, caller, c)


@router.post("/seals/{seal_id}/resume", response_model=SealPublic)
def resume(seal_id: uuid.UUID, auth: Writer, caller: PersonCaller, c: ContainerDep) -> SealPublic:
    return _change("resume", seal_id, "", auth, caller, c)


@router.post("/seals/{seal_id}/revoke", response_model=SealPublic)
def revoke(seal_id: uuid.UUID, body: ReasonRequest, auth: Writer, caller: PersonCaller,
           c: ContainerDep) -> SealPublic:
    """Final: the certificate is revoked (CRL and OCSP at once) and the key destroyed."""
    return _change("revoke", seal_id, body.reason, auth, caller, c)


class SealTypePublic(Public):
    code: str
    name: str
    shape: SealShape
    kinds: list[str]
    filing_required: bool
    builtin: bool


@router.get("/seal-types", response_model=list[SealTypePublic])
def list_seal_types(c: ContainerDep) -> list[SealTypePublic]:
    """公章, 合同专用章, 财务专用章, 发票专用章, 法定代表人名章 and the operator's own."""
    return [SealTypePublic.model_validate(t) for t in seal_types.list_types(uow=c.uow)]
