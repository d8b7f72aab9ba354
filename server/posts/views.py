"""Governance posts (社区治理岗位): list, claim, and staff decisions."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from server.auth.guards import (
    current_scope,
    current_user,
    current_user_or_none,
    login_required,
    staff_required,
)
from server.http import PageQuerySchema, error_responses, page_of
from server.posts import services
from server.posts.schemas import (
    AdminPostQuerySchema,
    ClaimCreateSchema,
    ClaimQuerySchema,
    ClaimSchema,
    DecisionSchema,
    PostQuerySchema,
    PostSchema,
    PostUpdateSchema,
    PostWriteSchema,
)

blp = Blueprint("posts", __name__, url_prefix="/api/v1", description="社区治理岗位")


@blp.route("/posts")
class Posts(MethodView):
    @blp.arguments(PostQuerySchema, location="query")
    @blp.response(200, page_of(PostSchema))
    def get(self, args):
        """A community's posts (mine by default), with my claim on each."""
        return services.post_page(current_user_or_none(), args)


@blp.route("/posts/<int:post_id>/claims")
class PostClaims(MethodView):
    @login_required
    @blp.arguments(ClaimCreateSchema)
    @blp.response(201, ClaimSchema)
    @error_responses(403, 404, 409)
    def post(self, body, post_id):
        """Claim a post in my community (staff approve)."""
        return services.claim_post(current_user(), post_id, body["note"])


@blp.route("/me/post-claims")
class MyClaims(MethodView):
    @login_required
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, page_of(ClaimSchema))
    def get(self, args):
        """My claims, newest first."""
        return services.my_claim_page(current_user(), args)


@blp.route("/me/post-claims/<int:claim_id>/withdraw")
class WithdrawClaim(MethodView):
    @login_required
    @blp.response(200, ClaimSchema)
    @error_responses(404, 409)
    def post(self, claim_id):
        """Withdraw my pending claim."""
        return services.withdraw_claim(current_user(), claim_id)


@blp.route("/admin/posts")
class AdminPosts(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(AdminPostQuerySchema, location="query")
    @blp.response(200, page_of(PostSchema))
    @error_responses(404)
    def get(self, args):
        """Posts in my subtree."""
        return services.staff_post_page(current_scope(), args)

    @staff_required("community_admin")
    @blp.arguments(PostWriteSchema)
    @blp.response(201, PostSchema)
    @error_responses(404, 409)
    def post(self, body):
        """Add a post to a community."""
        return services.create_post(current_scope("community_admin"), body)


@blp.route("/admin/posts/<int:post_id>")
class AdminPost(MethodView):
    @staff_required("community_admin")
    @blp.arguments(PostUpdateSchema(partial=True))
    @blp.response(200, PostSchema)
    @error_responses(404, 409)
    def patch(self, body, post_id):
        """Edit a post."""
        return services.update_post(current_scope("community_admin"), post_id, body)


@blp.route("/admin/post-claims")
class AdminClaims(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(ClaimQuerySchema, location="query")
    @blp.response(200, page_of(ClaimSchema))
    def get(self, args):
        """Claims on posts in my subtree (filter `status=pending` for the queue)."""
        return services.staff_claim_page(current_scope(), args)


@blp.route("/admin/post-claims/<int:claim_id>/approve")
class ApproveClaim(MethodView):
    @staff_required("community_admin")
    @blp.arguments(DecisionSchema)
    @blp.response(200, ClaimSchema)
    @error_responses(404, 409)
    def post(self, body, claim_id):
        """Approve a pending claim."""
        return services.approve_claim(current_scope("community_admin"), claim_id, body["note"])


@blp.route("/admin/post-claims/<int:claim_id>/decline")
class DeclineClaim(MethodView):
    @staff_required("community_admin")
    @blp.arguments(DecisionSchema)
    @blp.response(200, ClaimSchema)
    @error_responses(404, 409)
    def post(self, body, claim_id):
        """Decline a pending claim."""
        return services.decline_claim(current_scope("community_admin"), claim_id, body["note"])


@blp.route("/admin/post-claims/<int:claim_id>/end")
class EndClaim(MethodView):
    @staff_required("community_admin")
    @blp.arguments(DecisionSchema)
    @blp.response(200, ClaimSchema)
    @error_responses(404, 409)
    def post(self, body, claim_id):
        """End an approved claim (the rider leaves the post)."""
        return services.end_claim(current_scope("community_admin"), claim_id, body["note"])
