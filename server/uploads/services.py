"""Uploading, cleaning and serving photos; WeChat media checks and their verdicts."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import logging
import secrets
from collections.abc import Iterable

from flask import current_app, has_request_context, url_for
from PIL import Image, UnidentifiedImageError
from sqlalchemy import and_, or_, select, update

from server.auth.models import User
from server.clock import local, utcnow
from server.errors import DomainError, NotFound
from server.extensions import db
from server.uploads.models import Upload
from server.uploads.storage import get_storage

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 50_000_000  # refuse decompression bombs before decoding
MAX_EDGE = 2560
THUMB_EDGE = 480
# MPO: a phone JPEG carrying a second image in an MPF segment (Samsung, Android Ultra HDR
# and iOS HDR gain maps); only its first frame is decoded and it is saved as a plain JPEG.
FORMATS = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/png",
}
# EXIF Orientation (tag 0x0112) -> the transposition that makes the image upright, as in
# PIL.ImageOps.exif_transpose
ORIENTATIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
AUDIENCES = ("public", "owner", "staff", "wechat")
URL_TTL_S = 24 * 3600
CHECK_URL_TTL_S = 3 * 3600  # WeChat fetches within 30 minutes; leave room for retries
CHECK_RETRY_AFTER = dt.timedelta(minutes=10)
# WeChat pushes a verdict within 30 minutes; a photo still waiting after this lost its
# verdict (a push that never came, or came before its trace id was saved) and is asked again
# (else it stays hidden from everyone else for good).
VERDICT_WAIT = dt.timedelta(hours=1)


def _refuse(code: str, message: str, status: int = 422) -> DomainError:
    return DomainError(f"upload.{code}", message, status)


def _upright(image: Image.Image) -> Image.Image:
    """A copy of the (loaded) image turned as its EXIF Orientation says.

    Not ImageOps.exif_transpose: it also re-serialises the EXIF, which fails on odd tag
    types phones and editors write (AttributeError, TypeError, struct.error...), and the
    EXIF is dropped here anyway. An unreadable orientation leaves the image as it is.
    """
    try:
        orientation = image.getexif().get(0x0112, 1)
    except Exception as exc:  # untrusted metadata: never a reason to refuse the photo
        log.info("upload: EXIF unreadable, orientation ignored (%s: %s)", type(exc).__name__, exc)
        return image.copy()
    method = ORIENTATIONS.get(orientation) if isinstance(orientation, int) else None
    return image.transpose(method) if method is not None else image.copy()


def _clean_image(data: bytes) -> tuple[bytes, bytes, str, int, int]:
    """Decode (never trust the name), drop EXIF/ICC/text, bound the size, make a thumbnail."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            width, height = probe.size
    except Image.DecompressionBombError:  # Pillow refuses > 2x its own limit on open
        raise _refuse("too_many_pixels", "照片分辨率过大，请压缩后再上传") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _refuse("not_an_image", "文件不是有效的图片，请选择 JPG 或 PNG 照片") from None
    if fmt not in FORMATS:
        raise _refuse("unsupported_type", "仅支持 JPG、PNG、WEBP、GIF 格式的照片", 415)
    if width * height > MAX_PIXELS:
        raise _refuse("too_many_pixels", "照片分辨率过大，请压缩后再上传")
    try:
        with Image.open(io.BytesIO(data)) as source:
            source.load()  # a truncated or corrupt file fails here
            image = _upright(source)  # keep the orientation, then drop EXIF
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise _refuse("corrupt_image", "照片文件已损坏或不完整，请重新拍摄或选择") from None
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    image = image.convert("RGBA" if has_alpha else "RGB")
    image.info = {}
    out_format = "PNG" if has_alpha else "JPEG"

    def encode(img: Image.Image, edge: int) -> tuple[bytes, tuple[int, int]]:
        img = img.copy()
        img.thumbnail((edge, edge))
        buffer = io.BytesIO()
        if out_format == "JPEG":
            img.save(buffer, "JPEG", quality=85, optimize=True)
        else:
            img.save(buffer, "PNG", optimize=True)
        return buffer.getvalue(), img.size

    full, (width, height) = encode(image, MAX_EDGE)  # the size of what is stored
    thumb, _ = encode(image, THUMB_EDGE)
    return full, thumb, FORMATS[out_format], width, height


def store_image(owner: User, data: bytes, *, source: str = "app", commit: bool = True) -> Upload:
    """Check, clean and store one image for `owner`; the media check is requested later."""
    limit = current_app.config.get("UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES)
    if len(data) > limit:
        raise _refuse("too_large", f"照片不能超过 {limit // (1024 * 1024)} MB，请压缩后再上传", 413)
    if not data:
        raise _refuse("empty", "没有收到文件，请重新选择照片", 400)
    full, thumb, content_type, width, height = _clean_image(data)
    ext = "png" if content_type == "image/png" else "jpg"
    stamp = local(utcnow()).strftime("%Y/%m")
    name = secrets.token_hex(16)
    key, thumb_key = f"{stamp}/{name}.{ext}", f"{stamp}/{name}-t.{ext}"
    storage = get_storage()
    storage.save(key, full, content_type)
    storage.save(thumb_key, thumb, content_type)
    upload = Upload(
        owner_id=owner.id,
        storage_key=key,
        thumb_key=thumb_key,
        content_type=content_type,
        size=len(full),
        width=width,
        height=height,
        source=source,
    )
    db.session.add(upload)
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return upload


def create_upload(owner: User, file_storage) -> Upload:
    """Store a photo posted by a user (multipart field `file`)."""
    if file_storage is None:
        raise _refuse("file_required", "请选择要上传的照片", 400)
    limit = current_app.config.get("UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES)
    data = file_storage.stream.read(limit + 1)
    return store_image(owner, data)


def get_upload_for_user(user_id: int, upload_id: int) -> Upload:
    """The user's own upload (404 for anyone else's: ids are not a way to borrow photos)."""
    upload = db.session.get(Upload, upload_id)
    if upload is None or upload.owner_id != user_id:
        raise NotFound("upload.not_found", "找不到该照片，请重新上传")
    return upload


def attach_uploads(
    user_id: int, upload_ids: Iterable[int], ref_type: str, ref_id: int
) -> list[Upload]:
    """Attach the user's unattached uploads to one object (in the caller's transaction)."""
    uploads = []
    for upload_id in dict.fromkeys(upload_ids):
        upload = get_upload_for_user(user_id, upload_id)
        if upload.ref_type is not None and (upload.ref_type, upload.ref_id) != (ref_type, ref_id):
            raise DomainError("upload.already_used", "这张照片已用于其他内容，请重新上传", 409)
        upload.ref_type, upload.ref_id = ref_type, ref_id
        uploads.append(upload)
    db.session.flush()
    return uploads


def uploads_for(ref_type: str, ref_ids: Iterable[int]) -> dict[int, list[Upload]]:
    """Attached uploads by object id, in upload order."""
    ids = list(ref_ids)
    found: dict[int, list[Upload]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = db.session.execute(
        select(Upload)
        .where(Upload.ref_type == ref_type, Upload.ref_id.in_(ids))
        .order_by(Upload.id)
    ).scalars()
    for upload in rows:
        found[upload.ref_id].append(upload)
    return found


# --- signed URLs --------------------------------------------------------------------------


def _signature(upload_id: int, variant: str, audience: str, expires: int) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    message = f"media:{upload_id}:{variant}:{audience}:{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def signed_url(upload: Upload, variant: str = "full", audience: str = "public") -> str:
    """A URL a plain <image src> can load: signed for one audience, valid about a day."""
    ttl = CHECK_URL_TTL_S if audience == "wechat" else URL_TTL_S
    now = int(utcnow().replace(tzinfo=dt.UTC).timestamp())
    expires = (now // 3600 + 1) * 3600 + ttl  # stable within an hour: caches keep working
    args = {
        "upload_id": upload.id,
        "variant": variant,
        "a": audience,
        "e": expires,
        "s": _signature(upload.id, variant, audience, expires),
    }
    if has_request_context():
        return url_for("uploads.serve", _external=True, **args)
    base = current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000"
    query = "&".join(f"{k}={args[k]}" for k in ("a", "e", "s"))
    return f"{base.rstrip('/')}/api/v1/media/{upload.id}/{variant}?{query}"


def is_held(upload: Upload) -> bool:
    """True when others may not see it: judged risky, or attached to content held as risky."""
    if upload.moderation == "risky":
        return True
    if upload.ref_type in ("report", "report_event"):
        from server.reports.services_public import report_is_held

        return report_is_held(upload.ref_type, upload.ref_id)
    return False


def media_response(upload_id: int, variant: str, audience: str, expires: int, sig: str):
    """Serve a signed photo; a `public` link stops working once the photo is held."""
    if variant not in ("full", "thumb") or audience not in AUDIENCES:
        raise NotFound()
    expected = _signature(upload_id, variant, audience, expires)
    now = utcnow().replace(tzinfo=dt.UTC).timestamp()
    if not hmac.compare_digest(expected, sig or "") or expires < now:
        raise NotFound("upload.link_expired", "图片链接已失效，请刷新页面")
    upload = db.session.get(Upload, upload_id)
    if upload is None or (audience == "public" and is_held(upload)):
        raise NotFound()
    key = upload.storage_key if variant == "full" else upload.thumb_key
    response = get_storage().response(key, upload.content_type)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


# --- WeChat media checks ------------------------------------------------------------------


def request_media_checks(limit: int = 50) -> int:
    """Ask WeChat to check pending photos (a job; each photo claimed by one runner)."""
    from server.wechat import get_client
    from server.wechat.api import media_check_async
    from server.wechat.errors import WeChatError

    now = utcnow()
    stale = now - CHECK_RETRY_AFTER
    due = or_(
        # never asked, or the request failed a while ago
        and_(
            Upload.trace_id.is_(None),
            or_(Upload.check_requested_at.is_(None), Upload.check_requested_at < stale),
        ),
        # asked, but no verdict came
        and_(Upload.trace_id.is_not(None), Upload.check_requested_at < now - VERDICT_WAIT),
    )
    ids = list(
        db.session.execute(
            select(Upload.id)
            .where(Upload.moderation == "pending", due)
            .order_by(Upload.id)
            .limit(limit)
        ).scalars()
    )
    db.session.rollback()
    sent = 0
    for upload_id in ids:
        claimed = db.session.execute(
            update(Upload)
            .where(Upload.id == upload_id, Upload.moderation == "pending", due)
            .values(check_requested_at=now)
        ).rowcount
        db.session.commit()
        if not claimed:
            continue
        upload = db.session.get(Upload, upload_id)
        owner = db.session.get(User, upload.owner_id)
        try:
            trace_id = media_check_async(
                get_client(), owner.openid, signed_url(upload, "full", "wechat")
            )
        except WeChatError as exc:
            log.warning("media check for upload %s not started: %s", upload_id, exc)
            continue
        upload.trace_id = trace_id
        db.session.commit()
        sent += 1
    return sent


def apply_media_check(trace_id: str, suggest: str, label: int | None) -> Upload | None:
    """Record WeChat's verdict on a photo (idempotent; unknown trace ids are ignored)."""
    if suggest not in ("pass", "review", "risky"):
        log.warning("media check %s: unknown suggest %r", trace_id, suggest)
        return None
    upload = db.session.execute(
        select(Upload).where(Upload.trace_id == trace_id).with_for_update()
    ).scalar_one_or_none()
    if upload is None:
        log.warning("media check for unknown trace id %s", trace_id)
        db.session.rollback()
        return None
    upload.moderation = suggest
    upload.moderation_label = label
    upload.checked_at = utcnow()
    db.session.commit()
    if suggest != "pass" and upload.ref_type in ("report", "report_event"):
        from server.reports.services_public import photo_flagged

        photo_flagged(upload)
    return upload


def on_account_cancelled(user: User):
    """Account cancellation (server/auth/cancellation.py): the user's photos attached to
    nothing (uploaded, never used) are deleted — rows now, files once the cancellation has
    committed (returned: the caller runs it then). Attached photos stay with what they show
    (a report, an event, a need)."""
    from sqlalchemy import delete

    rows = db.session.execute(
        select(Upload.id, Upload.storage_key, Upload.thumb_key).where(
            Upload.owner_id == user.id, Upload.ref_type.is_(None)
        )
    ).all()
    if not rows:
        return None
    db.session.execute(
        delete(Upload)
        .where(Upload.id.in_([row.id for row in rows]), Upload.ref_type.is_(None))
        .execution_options(synchronize_session=False)
    )
    keys = [key for row in rows for key in (row.storage_key, row.thumb_key)]

    def delete_files() -> None:
        storage = get_storage()
        for key in keys:
            try:
                storage.delete(key)
            except OSError:
                log.warning("upload file %s of a cancelled account not deleted", key)

    return delete_files
