"""Schemas for points, rewards, redemptions, adjustments and rankings."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.http import InDateTime, LocalDateTime, PageQuerySchema, Text
from server.points.models import REDEMPTION_STATUSES, RULES
from server.security import MAX_ID
from server.stations.schemas import patch_of


class LedgerEntrySchema(Schema):
    id = fields.Integer()
    delta = fields.Integer()
    balance_after = fields.Integer()
    reason = fields.String()
    source_type = fields.String()
    source_id = fields.String()
    rule = fields.String(allow_none=True)
    created_at = LocalDateTime()


class LedgerPageSchema(Schema):
    items = fields.List(fields.Nested(LedgerEntrySchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class MyPointsSchema(Schema):
    balance = fields.Integer(required=True)
    earned_this_month = fields.Integer(required=True)
    lifetime_earned = fields.Integer(required=True)
    ledger = fields.Nested(LedgerPageSchema, required=True)


class RewardWriteSchema(Schema):
    org_unit_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    station_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    name = Text(required=True, validate=validate.Length(min=1, max=64))
    description = fields.String(allow_none=True, validate=validate.Length(max=500))
    # shown by the mini-program, which loads images over https from its allowed domains only
    image_url = fields.String(
        allow_none=True,
        validate=[
            validate.Length(max=512),
            validate.URL(schemes={"https"}, error="图片须是 https:// 开头的图片地址"),
        ],
    )
    cost = fields.Integer(required=True, validate=validate.Range(min=1, max=1_000_000))
    stock = fields.Integer(required=True, validate=validate.Range(min=0, max=1_000_000))
    monthly_limit_per_user = fields.Integer(
        allow_none=True, validate=validate.Range(min=1, max=1000)
    )
    # As an activity's times: an offset is converted, no offset means Shanghai time, and
    # both are stored naive UTC (so `_check_window` never compares aware with naive).
    starts_at = InDateTime(allow_none=True)
    ends_at = InDateTime(allow_none=True)
    is_active = fields.Boolean(load_default=True)


class RewardPatchBase(RewardWriteSchema):
    stock = fields.Integer(
        validate=validate.Range(min=0, max=1_000_000),
        metadata={
            "description": "the new stock, replacing only the stock the editor saw: needs "
            "`stock_was` (else 422 `reward.stock_was_required`); 409 `reward.stock_changed` "
            "(details: the current `stock`) when a redemption or a refund changed it since; "
            "equal to `stock_was`: the stock is left as it is now"
        },
    )
    stock_was = fields.Integer(
        validate=validate.Range(min=0, max=1_000_000),
        metadata={"description": "with `stock`: the stock the editor read (ignored without it)"},
    )
    stock_delta = fields.Integer(
        validate=validate.Range(min=-1_000_000, max=1_000_000),
        metadata={
            "description": "add (or remove) stock atomically to whatever it is now, with no "
            "precondition: restocking; with `stock`, added to it"
        },
    )


RewardPatchSchema = patch_of(RewardPatchBase, "RewardPatchSchema")


class RewardSchema(Schema):
    id = fields.Integer()
    org_unit_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    station_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    name = fields.String()
    description = fields.String(allow_none=True)
    image_url = fields.String(allow_none=True)
    cost = fields.Integer()
    stock = fields.Integer()
    monthly_limit_per_user = fields.Integer(allow_none=True)
    starts_at = LocalDateTime(allow_none=True)
    ends_at = LocalDateTime(allow_none=True)
    is_active = fields.Boolean()


class RewardQuerySchema(PageQuerySchema):
    org_unit_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    station_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))


class AdminRewardQuerySchema(PageQuerySchema):
    station_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    is_active = fields.Boolean()


class RedeemSchema(Schema):
    reward_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))


class RedemptionItemSchema(Schema):
    """A redemption as lists and lookups show it."""

    id = fields.Integer()
    code = fields.String(metadata={"description": "the voucher staff type or scan"})
    qr_payload = fields.String()
    status = fields.String(metadata={"description": " | ".join(REDEMPTION_STATUSES)})
    reward_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    reward_name = fields.String()
    cost = fields.Integer()
    org_unit_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    station_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    created_at = LocalDateTime()
    expires_at = LocalDateTime()
    fulfilled_at = LocalDateTime(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)


class RedemptionSchema(RedemptionItemSchema):
    """A redemption as an action on it answers (redeem, cancel): with the balance after."""

    balance = fields.Integer(metadata={"description": "the balance after this action"})


class AdminRedemptionItemSchema(RedemptionItemSchema):
    user_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    fulfilled_by_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))


class VoucherLookupSchema(AdminRedemptionItemSchema):
    """A voucher as the station keeper looks it up before handing the goods over: with who
    holds it, masked, so the keeper can ask the person in front of them."""

    holder_name = fields.String(metadata={"description": "the holder's name, masked: 张**"})
    holder_phone_tail = fields.String(
        allow_none=True,
        metadata={"description": "the last 4 digits of the holder's phone number, if bound"},
    )


class AdminRedemptionSchema(AdminRedemptionItemSchema):
    """A redemption as fulfilling it answers: with the rider's balance."""

    balance = fields.Integer(metadata={"description": "the rider's balance"})


class MyRedemptionQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(REDEMPTION_STATUSES))


class AdminRedemptionQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(REDEMPTION_STATUSES))
    reward_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    station_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    user_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    code = fields.String(validate=validate.Length(max=32))


class AdjustmentRequestSchema(Schema):
    user_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    delta = fields.Integer(required=True, validate=validate.Range(min=-100_000, max=100_000))
    reason = Text(required=True, validate=validate.Length(min=2, max=200))


class AdjustmentItemSchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    delta = fields.Integer()
    reason = fields.String()
    org_unit_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    created_by_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    created_at = LocalDateTime()


class AdjustmentSchema(AdjustmentItemSchema):
    """An adjustment as making it answers: with the user's balance after it."""

    balance = fields.Integer()


class AdjustmentQuerySchema(PageQuerySchema):
    user_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))


class RuleSchema(Schema):
    org_unit_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    rule = fields.String(required=True, validate=validate.OneOf(RULES))
    points = fields.Integer(required=True, validate=validate.Range(min=0, max=10_000))
    daily_cap = fields.Integer(
        allow_none=True,
        validate=validate.Range(min=0, max=100_000),
        metadata={
            "description": "points a rider may earn by this rule a day; null: no cap; "
            "left out: the cap in effect in the unit is kept"
        },
    )


class RuleDeleteQuerySchema(Schema):
    org_unit_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    rule = fields.String(required=True, validate=validate.OneOf(RULES))


class EffectiveRuleSchema(Schema):
    rule = fields.String()
    name = fields.String()
    points = fields.Integer()
    daily_cap = fields.Integer(allow_none=True)


class RuleQuerySchema(Schema):
    org_unit_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))


class RankingQuerySchema(Schema):
    scope = fields.String(
        load_default="community", validate=validate.OneOf(["community", "street"])
    )
    period = fields.String(load_default="month", validate=validate.OneOf(["month", "all"]))
    top = fields.Integer(load_default=15, validate=validate.Range(min=1, max=50))
    org_unit_id = fields.Integer(
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={
            "description": "staff only: the community (or street, with scope=street) to read, "
            "in their subtree; default their own unit's. A rider always reads their own."
        },
    )


class RankingItemSchema(Schema):
    rank = fields.Integer()
    display_name = fields.String(metadata={"example": "张**"})
    points = fields.Integer()
    is_me = fields.Boolean()


class MyRankSchema(Schema):
    rank = fields.Integer(allow_none=True)
    points = fields.Integer()
    display_name = fields.String()


class RankingSchema(Schema):
    scope = fields.String()
    period = fields.String()
    unit_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    items = fields.List(fields.Nested(RankingItemSchema))
    total = fields.Integer()
    me = fields.Nested(MyRankSchema)
