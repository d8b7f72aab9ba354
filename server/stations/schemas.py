"""Schemas for stations and check-ins."""

from __future__ import annotations

import copy

from marshmallow import Schema, fields, validate
from marshmallow.constants import missing

from server.http import KeysetPageQuerySchema, LocalDateTime, PageQuerySchema, Text
from server.security import MAX_ID
from server.stations.models import DEFAULT_CHECKIN_RADIUS_M, KINDS, SERVICES

LAT = validate.Range(min=3.0, max=54.0)  # China, roughly
LNG = validate.Range(min=73.0, max=136.0)


class StationWriteSchema(Schema):
    org_unit_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    name = Text(required=True, validate=validate.Length(min=1, max=64))
    kind = fields.String(
        required=True,
        validate=validate.OneOf(list(KINDS)),
        metadata={"description": ", ".join(f"{k} {v}" for k, v in KINDS.items())},
    )
    address = Text(load_default="", validate=validate.Length(max=200))
    lat = fields.Float(required=True, validate=LAT, metadata={"description": "GCJ-02"})
    lng = fields.Float(required=True, validate=LNG, metadata={"description": "GCJ-02"})
    services = fields.List(
        fields.String(validate=validate.OneOf(list(SERVICES))),
        load_default=list,
        metadata={"description": ", ".join(f"{k} {v}" for k, v in SERVICES.items())},
    )
    opening_hours = fields.Dict(
        allow_none=True,
        load_default=None,
        metadata={
            "description": 'per weekday: {"mon": ["08:00-22:00"], "sat": ["20:00-02:00"]}; '
            "an end before the start runs past midnight; a missing day is closed; "
            "null means always open",
        },
    )
    contact_name = Text(allow_none=True, validate=validate.Length(max=32))
    # what a rider taps to call (wx.makePhoneCall): a mobile, a landline with its area code
    # and an extension (0371-6688 1234 转 801), or a short hotline such as 12345
    contact_phone = Text(
        allow_none=True,
        validate=validate.Regexp(
            r"^(?:\+?[0-9][0-9 ()-]{2,24}(?: ?转 ?[0-9]{1,6})?)?$",  # or empty: none
            error="请填写电话号码（手机、座机或热线，可带区号和“转”分机）",
        ),
        metadata={"example": "0371-66881234"},
    )
    checkin_radius_m = fields.Integer(
        load_default=DEFAULT_CHECKIN_RADIUS_M, validate=validate.Range(min=20, max=2000)
    )
    is_active = fields.Boolean(load_default=True)
    # shown by the mini-program, which loads images over https from its allowed domains only
    photos = fields.List(
        fields.String(
            validate=[
                validate.Length(max=512),
                validate.URL(schemes={"https"}, error="照片须是 https:// 开头的图片地址"),
            ]
        ),
        load_default=list,
        validate=validate.Length(max=9),
    )
    description = fields.String(allow_none=True, validate=validate.Length(max=500))


def patch_of(schema: type[Schema], name: str) -> type[Schema]:
    """The same fields, none required and none defaulted: a PATCH changes what it names."""
    declared = {}
    for field_name, field in schema._declared_fields.items():
        clone = copy.copy(field)
        clone.required = False
        clone.load_default = missing
        declared[field_name] = clone
    return Schema.from_dict(declared, name=name)


StationPatchSchema = patch_of(StationWriteSchema, "StationPatchSchema")


class StationSchema(Schema):
    id = fields.Integer()
    org_unit_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    name = fields.String()
    kind = fields.String()
    kind_name = fields.Function(lambda s: KINDS.get(s.kind, s.kind))
    address = fields.String()
    lat = fields.Float()
    lng = fields.Float()
    services = fields.List(fields.String())
    service_names = fields.Function(lambda s: [SERVICES.get(x, x) for x in s.services or []])
    opening_hours = fields.Dict(allow_none=True)
    is_open_now = fields.Method("_open")
    contact_name = fields.String(allow_none=True)
    contact_phone = fields.String(allow_none=True)
    checkin_radius_m = fields.Integer()
    is_active = fields.Boolean()
    photos = fields.List(fields.String())
    description = fields.String(allow_none=True)

    def _open(self, station) -> bool:
        from server.stations.hours import is_open

        return is_open(station.opening_hours)


class AdminStationSchema(StationSchema):
    qr_scene = fields.Method("_scene", metadata={"description": "the signed scene of its code"})
    qr_rotated_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime()
    updated_at = LocalDateTime()

    def _scene(self, station) -> str:
        from server.stations.services import scene_of

        return scene_of(station)


class AdminStationQuerySchema(PageQuerySchema):
    org_unit_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    is_active = fields.Boolean()
    q = fields.String(validate=validate.Length(max=64))


class NearbyQuerySchema(Schema):
    lat = fields.Float(required=True, validate=LAT)
    lng = fields.Float(required=True, validate=LNG)
    radius_m = fields.Integer(load_default=3000, validate=validate.Range(min=50, max=50_000))
    service = fields.String(validate=validate.OneOf(list(SERVICES)))
    open_now = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50))


class NearbyStationSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    kind_name = fields.String()
    address = fields.String()
    lat = fields.Float()
    lng = fields.Float()
    distance_m = fields.Integer()
    is_open_now = fields.Boolean()
    services = fields.List(fields.String())
    opening_hours = fields.Dict(allow_none=True)
    contact_phone = fields.String(allow_none=True)
    photo = fields.String(allow_none=True)


class NearbyResultSchema(Schema):
    items = fields.List(fields.Nested(NearbyStationSchema))


class QrQuerySchema(Schema):
    variant = fields.String(
        load_default="code",
        validate=validate.OneOf(["code", "poster"]),
        metadata={"description": "code: the bare mini-program code; poster: printable A5"},
    )
    width = fields.Integer(load_default=430, validate=validate.Range(min=280, max=1280))


class CheckinRequestSchema(Schema):
    scene = fields.String(required=True, validate=validate.Length(min=1, max=128))
    lat = fields.Float(required=True, validate=LAT)
    lng = fields.Float(required=True, validate=LNG)
    accuracy = fields.Float(
        required=True, validate=validate.Range(min=0), metadata={"description": "metres"}
    )


class CheckinSchema(Schema):
    id = fields.Integer()
    station_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    station_name = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "ok | closed | refused"})
    reason = fields.String(allow_none=True)
    points_awarded = fields.Integer()
    distance_m = fields.Float(allow_none=True)
    created_at = LocalDateTime()


class AdminCheckinSchema(CheckinSchema):
    user_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    org_unit_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    lat = fields.Float(allow_none=True)
    lng = fields.Float(allow_none=True)
    accuracy = fields.Float(allow_none=True)
    scene = fields.String(allow_none=True)
    details = fields.Dict(allow_none=True)


class CheckinStationSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    kind_name = fields.String()
    address = fields.String()
    services = fields.List(fields.String())
    service_names = fields.List(fields.String())
    opening_hours = fields.Dict(allow_none=True)
    is_open_now = fields.Boolean()
    contact_phone = fields.String(allow_none=True)


class CheckinResultSchema(Schema):
    checkin = fields.Nested(CheckinSchema, required=True)
    points_awarded = fields.Integer(required=True)
    balance = fields.Integer(required=True)
    station = fields.Nested(CheckinStationSchema, required=True)
    message = fields.String()
    replayed = fields.Boolean()


class AdminCheckinQuerySchema(KeysetPageQuerySchema):
    station_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    user_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    status = fields.String(validate=validate.OneOf(["ok", "closed", "refused"]))
    reason = fields.String(validate=validate.Length(max=48))
    date_from = fields.Date()
    date_to = fields.Date()
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))
