"""Demo earning rules and 积分超市 rewards (idempotent: looked up by unit and name)."""

from __future__ import annotations

from sqlalchemy import select

from server.extensions import db
from server.points.models import EarningRule, Reward

# Street-wide rules (communities inherit them).
RULES = {
    "checkin": (5, 15),
    "clue_accepted": (10, 50),
    "clue_confirmed": (2, 10),
    "clue_self_handled": (5, 20),
    "activity_attendance": (20, 60),
    "post_duty": (10, 30),
}
# (unit code, name, cost, stock, monthly limit per rider, description)
REWARDS = [
    ("C-HUAIBEI", "蓝牙耳机", 300, 5, 1, "无线蓝牙耳机，续航 20 小时"),
    ("C-HUAIBEI", "充电宝 10000mAh", 200, 10, 1, "双口快充，送餐路上不断电"),
    ("C-HUAIBEI", "洗衣液 2kg", 60, 30, 2, "社区积分超市常备"),
    ("C-HUAIBEI", "湿巾 80 抽", 20, 50, 4, None),
    ("C-XINGHUA", "旅行杯", 80, 20, 1, "不锈钢保温杯 500ml"),
    ("C-XINGHUA", "雨衣（分体式）", 120, 15, 1, "反光条设计，雨天送餐更安全"),
    ("C-XINGHUA", "湿巾 80 抽", 20, 50, 4, None),
    ("C-FUHUA", "洗衣液 2kg", 60, 25, 2, None),
    ("C-FUHUA", "防晒袖套", 30, 40, 2, "夏季骑行防晒"),
    ("ST-HUAIHE", "电动车头盔", 250, 8, 1, "3C 认证安全头盔（全街道可兑）"),
]


def seed_points(units) -> list[str]:
    """Street-level earning rules and rewards in each community."""
    from server.points.services import set_rule

    street = units["ST-HUAIHE"]
    for rule, (points, cap) in RULES.items():
        exists = db.session.execute(
            select(EarningRule.id).where(
                EarningRule.org_unit_id == street.id, EarningRule.rule == rule
            )
        ).first()
        if exists is None:
            set_rule(street.id, rule, points, cap)
    created = 0
    for code, name, cost, stock, limit, description in REWARDS:
        unit = units[code]
        found = db.session.execute(
            select(Reward.id).where(Reward.org_unit_id == unit.id, Reward.name == name)
        ).first()
        if found is None:
            db.session.add(
                Reward(
                    org_unit_id=unit.id,
                    name=name,
                    cost=cost,
                    stock=stock,
                    monthly_limit_per_user=limit,
                    description=description,
                )
            )
            created += 1
    db.session.commit()
    return [
        f"earning rules: {len(RULES)} at {street.name}; rewards: {len(REWARDS)} ({created} new)"
    ]
