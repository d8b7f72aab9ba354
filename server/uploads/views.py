"""POST /api/v1/uploads and the signed media URLs."""

from __future__ import annotations

from flask import Blueprint as FlaskBlueprint
from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from flask_smorest.fields import Upload as UploadField
from marshmallow import Schema, fields

from server.auth.guards import current_user, login_required
from server.extensions import limiter
from server.http import error_responses
from server.ops.limits import rate_limit
from server.uploads import services

blp = Blueprint("uploads", __name__, url_prefix="/api/v1", description="照片上传")


class UploadFormSchema(Schema):
    file = UploadField(required=True, metadata={"description": "JPG / PNG / WEBP, ≤ 8 MB"})


class UploadSchema(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    thumb_url = fields.String(required=True)
    width = fields.Integer(required=True)
    height = fields.Integer(required=True)
    moderation = fields.String(required=True, metadata={"description": "pending|pass|review|risky"})


def upload_view(upload, audience: str = "owner") -> dict:
    return {
        "id": upload.id,
        "url": services.signed_url(upload, "full", audience),
        "thumb_url": services.signed_url(upload, "thumb", audience),
        "width": upload.width,
        "height": upload.height,
        "moderation": upload.moderation,
    }


@blp.route("/uploads")
class Uploads(MethodView):
    @login_required
    @limiter.limit(rate_limit("UPLOAD"))  # per user (RATE_LIMIT_UPLOAD)
    @blp.arguments(UploadFormSchema, location="files")
    @blp.response(201, UploadSchema)
    @error_responses(415, 429)
    def post(self, files):
        """Upload a photo (EXIF removed, resized; checked by WeChat before others see it)."""
        return upload_view(services.create_upload(current_user(), files.get("file")))


def serve(upload_id: int, variant: str):
    """A signed photo (an <image src> loads it without a token); not in the OpenAPI doc."""
    args = request.args
    try:
        expires = int(args.get("e", "0"))
    except ValueError:
        expires = 0
    return services.media_response(upload_id, variant, args.get("a", ""), expires, args.get("s"))


# Registered on Flask's own add_url_rule so flask-smorest leaves it out of the API doc.
FlaskBlueprint.add_url_rule(blp, "/media/<int:upload_id>/<variant>", "serve", serve)
