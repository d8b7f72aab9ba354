"""Points: the append-only ledger, earning rules, rewards and redemptions, rankings.

Other domains award points with `server.points.services.award_points(...)` inside their own
transaction and read a rule with `rule_points(org_unit_id, rule)`.

Redemption error codes: redemption.insufficient_points (400), redemption.out_of_stock (409),
redemption.limit_reached (409), redemption.reward_inactive (400),
redemption.reward_not_found (404), redemption.not_found (404),
redemption.already_fulfilled (409), redemption.not_pending (409). Ledger: points.insufficient
(400), points.adjustment_exceeds_balance (400). Rankings: ranking.not_registered (400).
"""
