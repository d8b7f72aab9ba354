"""My points, rankings, the rewards catalog, redemptions, and points management for staff."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from server.auth.guards import (
    current_scope,
    current_user,
    login_required,
    staff_required,
    token_claims,
    token_required,
)
from server.clock import isoformat
from server.http import (
    IDEMPOTENCY_HEADER_DOC,
    PageQuerySchema,
    error_responses,
    fast_response,
    idempotency_key,
    page_of,
    paginate,
)
from server.points import rankings, redemptions, services
from server.points.schemas import (
    AdjustmentItemSchema,
    AdjustmentQuerySchema,
    AdjustmentRequestSchema,
    AdjustmentSchema,
    AdminRedemptionItemSchema,
    AdminRedemptionQuerySchema,
    AdminRedemptionSchema,
    AdminRewardQuerySchema,
    EffectiveRuleSchema,
    MyPointsSchema,
    MyRedemptionQuerySchema,
    RankingQuerySchema,
    RankingSchema,
    RedeemSchema,
    RedemptionItemSchema,
    RedemptionSchema,
    RewardPatchSchema,
    RewardQuerySchema,
    RewardSchema,
    RewardWriteSchema,
    RuleDeleteQuerySchema,
    RuleQuerySchema,
    RuleSchema,
    VoucherLookupSchema,
)

MY_POINTS, RANKING = MyPointsSchema(), RankingSchema()

blp = Blueprint("points", __name__, url_prefix="/api/v1", description="积分、兑换与排行")

IDEMPOTENCY_DOC = [{"in": "header", "name": k, **v} for k, v in IDEMPOTENCY_HEADER_DOC.items()]


def _with_balance(redemption, balance: int | None = None) -> dict:
    data = {c.name: getattr(redemption, c.name) for c in redemption.__table__.columns}
    data["qr_payload"] = redemption.qr_payload
    data["balance"] = balance if balance is not None else services.balance_of(redemption.user_id)
    return data


@blp.route("/me/points")
class MyPoints(MethodView):
    @token_required  # authenticated by the statement that reads the points (the user's row)
    @blp.arguments(PageQuerySchema(), location="query")  # instances: not rebuilt per request
    @blp.response(200, MyPointsSchema)
    def get(self, args):
        """My balance, earned this month and in all, and a page of my ledger."""
        claims = token_claims()
        principal, data = services.my_points(claims.user_id, args["page"], args["page_size"])
        claims.accept_principal(principal)
        ledger = data["ledger"]
        items = [{**item, "created_at": isoformat(item["created_at"])} for item in ledger["items"]]
        return fast_response(MY_POINTS, data, {**data, "ledger": {**ledger, "items": items}})


@blp.route("/rankings")
class Rankings(MethodView):
    @token_required  # the ranking's script reads the caller's principal record
    @blp.arguments(RankingQuerySchema(), location="query")
    @blp.response(200, RankingSchema)
    @error_responses(400, 404)  # ranking.not_registered; staff: org_unit_id outside their subtree
    def get(self, args):
        """Top N by points earned in the period in my community or street, and my own rank.

        Staff read their unit's community or street (or `org_unit_id` in their subtree), as
        they organise a redemption day for the top of the ranking; `me` is then unranked."""
        data = rankings.rankings_for(
            token_claims(), args["scope"], args["period"], args["top"], args.get("org_unit_id")
        )
        return fast_response(RANKING, data)


@blp.route("/rewards")
class Rewards(MethodView):
    @login_required
    @blp.arguments(RewardQuerySchema, location="query")
    @blp.response(200, page_of(RewardSchema))
    def get(self, args):
        """Rewards I can redeem now (my community's, its stations', and the street's)."""
        stmt = redemptions.catalog(current_user(), args)
        return paginate(stmt, args["page"], args["page_size"])


@blp.route("/rewards/<int:reward_id>")
class RewardDetail(MethodView):
    @blp.response(200, RewardSchema)
    @error_responses(404)
    def get(self, reward_id):
        """One reward."""
        return redemptions.public_reward(reward_id)


@blp.route("/redemptions")
class Redemptions(MethodView):
    @login_required
    @blp.arguments(RedeemSchema)
    @blp.response(201, RedemptionSchema)
    @error_responses(404, 409)
    @blp.doc(parameters=IDEMPOTENCY_DOC)
    def post(self, body):
        """Redeem a reward with points: pending until staff at the station fulfil it."""
        user = current_user()
        redemption, _ = redemptions.redeem(user, body["reward_id"], idempotency_key())
        return _with_balance(redemption)


@blp.route("/me/redemptions")
class MyRedemptions(MethodView):
    @login_required
    @blp.arguments(MyRedemptionQuerySchema, location="query")
    @blp.response(200, page_of(RedemptionItemSchema))
    def get(self, args):
        """My redemptions, newest first."""
        stmt = redemptions.my_redemptions(current_user().id, args.get("status"))
        return paginate(stmt, args["page"], args["page_size"])


@blp.route("/redemptions/<int:redemption_id>/cancel")
class CancelRedemption(MethodView):
    @login_required
    @blp.response(200, RedemptionSchema)
    @error_responses(404, 409)
    @blp.doc(parameters=IDEMPOTENCY_DOC)
    def post(self, redemption_id):
        """Cancel my pending redemption: the points and the stock come back.

        A retry with the same `Idempotency-Key` answers with the cancelled redemption."""
        cancelled = redemptions.cancel(current_user(), redemption_id, idempotency_key())
        return _with_balance(cancelled)


@blp.route("/redemptions/<string:code>/fulfil")
class FulfilRedemption(MethodView):
    @staff_required("grid_worker")
    @blp.response(200, AdminRedemptionSchema)
    @error_responses(404, 409)
    @blp.doc(parameters=IDEMPOTENCY_DOC)
    def post(self, code):
        """Hand over the goods for a voucher (staff of the reward's community).

        A retry with the same `Idempotency-Key` answers with the fulfilled redemption. 403
        `redemption.self_fulfil`: one's own voucher is handed over by someone else."""
        done = redemptions.fulfil(current_scope(), code, idempotency_key())
        return _with_balance(done)


@blp.route("/admin/redemptions")
class AdminRedemptions(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(AdminRedemptionQuerySchema, location="query")
    @blp.response(200, page_of(AdminRedemptionItemSchema))
    def get(self, args):
        """Redemptions I may look up and hand over (my subtree; a grid worker: their
        community, where vouchers are handed over), filtered."""
        stmt = redemptions.admin_redemptions(current_scope(), args)
        return paginate(stmt, args["page"], args["page_size"])


@blp.route("/admin/redemptions/<string:code>")
class AdminRedemption(MethodView):
    @staff_required("grid_worker")
    @blp.response(200, VoucherLookupSchema)
    @error_responses(404)
    def get(self, code):
        """Look a voucher up before handing the goods over: with its holder's masked name
        and the last four digits of their phone, to ask the person presenting it."""
        return redemptions.voucher_lookup(current_scope(), code)


@blp.route("/admin/rewards")
class AdminRewards(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(AdminRewardQuerySchema, location="query")
    @blp.response(200, page_of(RewardSchema))
    def get(self, args):
        """Rewards in my subtree."""
        return paginate(
            redemptions.admin_rewards(current_scope(), args), args["page"], args["page_size"]
        )

    @staff_required("community_admin")
    @blp.arguments(RewardWriteSchema)
    @blp.response(201, RewardSchema)
    @error_responses(404)
    def post(self, body):
        """Add a reward to a community's or a station's catalog."""
        return redemptions.create_reward(current_scope("community_admin"), body)


@blp.route("/admin/rewards/<int:reward_id>")
class AdminReward(MethodView):
    @staff_required("community_admin")
    @blp.arguments(RewardPatchSchema)
    @blp.response(200, RewardSchema)
    @error_responses(404, 409)
    def patch(self, body, reward_id):
        """Edit a reward (`stock_delta` restocks atomically; `is_active: false` withdraws it).

        An absolute `stock` comes with `stock_was`, the stock the editor saw: 409
        `reward.stock_changed` with the current figure when redemptions or refunds moved it
        since (the edit changes nothing then)."""
        return redemptions.update_reward(current_scope("community_admin"), reward_id, body)


@blp.route("/admin/points/adjustments")
class Adjustments(MethodView):
    @staff_required("community_admin")
    @blp.arguments(AdjustmentQuerySchema, location="query")
    @blp.response(200, page_of(AdjustmentItemSchema))
    def get(self, args):
        """Manual adjustments in my subtree (the audit trail)."""
        stmt = services.list_adjustments(current_scope("community_admin"), args)
        return paginate(stmt, args["page"], args["page_size"])

    @staff_required("community_admin")
    @blp.arguments(AdjustmentRequestSchema)
    @blp.response(201, AdjustmentSchema)
    @error_responses(404, 409)
    @blp.doc(parameters=IDEMPOTENCY_DOC)
    def post(self, body):
        """Grant (delta > 0) or deduct (delta < 0) a rider's points, with a reason.

        403 `points.self_adjustment`, and `points.adjust_staff_outside` for staff (also
        registered somewhere) of the caller's own unit or above it."""
        adjustment, balance = services.adjust_points(
            current_scope("community_admin"),
            body["user_id"],
            body["delta"],
            body["reason"],
            idempotency_key(),
        )
        data = {c.name: getattr(adjustment, c.name) for c in adjustment.__table__.columns}
        data["balance"] = balance
        return data


@blp.route("/admin/points/rules")
class Rules(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(RuleQuerySchema, location="query")
    @blp.response(200, EffectiveRuleSchema(many=True))
    @error_responses(404)
    def get(self, args):
        """The earning rules as they apply in a unit of my subtree."""
        current_scope().ensure(args["org_unit_id"])
        return services.effective_rules(args["org_unit_id"])

    @staff_required("community_admin")
    @blp.arguments(RuleSchema)
    @blp.response(200, EffectiveRuleSchema(many=True))
    @error_responses(404)
    def put(self, body):
        """Set a unit's points and daily cap for one rule."""
        return services.put_rule(current_scope("community_admin"), body)

    @staff_required("community_admin")
    @blp.arguments(RuleDeleteQuerySchema, location="query")
    @blp.response(200, EffectiveRuleSchema(many=True))
    @error_responses(404)
    def delete(self, args):
        """Drop a unit's own rule: it follows the street's (or the default) again."""
        scope = current_scope("community_admin")
        return services.delete_rule(scope, args["org_unit_id"], args["rule"])
