"""Demo data: activities around 淮河路街道, the five posts per community, a few needs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from server.activities.models import Activity, Enrolment
from server.auth.models import User
from server.clock import SHANGHAI, local, utcnow
from server.extensions import db
from server.needs.models import Need
from server.org.models import OrgUnit
from server.posts.models import Post, PostClaim
from server.posts.services import seed_default_posts
from server.stations.scenes import new_secret

# (unit code, title, kind, place, offset (lat, lng), days from today, start hour, hours,
#  capacity, points, audience, description)
ACTIVITIES = [
    (
        "C-HUAIBEI",
        "暖新问需会：骑手朋友说说心里话",
        "needs_meeting",
        "淮北街社区党群服务中心二楼",
        (0.0004, -0.0003),
        3,
        15,
        2,
        30,
        20,
        "riders",
        "社区书记和骑手面对面，听听大家跑单中的难处和对社区的建议，现场登记需求、逐条回复。",
    ),
    (
        "C-XINGHUA",
        "红骑手公益课堂：交通安全",
        "public_class",
        "兴华街社区小哥驿站",
        (0.0002, 0.0005),
        5,
        14,
        2,
        40,
        20,
        "riders",
        "交警讲解电动车安全驾驶、头盔佩戴和雨天骑行要点，结业可领反光背心。",
    ),
    (
        "C-FUHUA",
        "垃圾分类宣传进小区",
        "garbage_sorting",
        "福华街社区中心广场",
        (-0.0003, 0.0002),
        7,
        9,
        3,
        20,
        15,
        "all",
        "志愿者在小区门口发放分类指南、指导居民正确投放，骑手可利用午休前时段参与。",
    ),
    (
        "ST-HUAIHE",
        "健康义诊：骑手专场",
        "health_check",
        "淮河路街道社区卫生服务中心",
        (0.0, 0.0),
        10,
        9,
        4,
        60,
        10,
        "all",
        "免费测血压、血糖，骨科医生讲解腰椎和颈椎保护，提供常用药品咨询。",
    ),
    (
        "C-HUAIBEI",
        "零工驿站招聘对接会",
        "job_matching",
        "淮北街零工驿站",
        (-0.0005, 0.0004),
        14,
        10,
        3,
        50,
        10,
        "all",
        "4家用工企业现场招聘，提供快递分拣、餐饮帮厨等灵活岗位，可现场登记求职意向。",
    ),
    (
        "C-HUAIBEI",
        "环境整治：背街小巷清洁行动",
        "cleanup",
        "淮北街社区东巷口",
        (0.0006, 0.0006),
        -6,
        9,
        2,
        25,
        15,
        "all",
        "清理小巷堆积杂物和小广告，骑手和居民一起动手，给街巷“洗个脸”。",
    ),
]

NEEDS = [
    ("o_demo_rider", "employment", "想在送餐淡季找一份白天的兼职，社区有没有合适的岗位推荐？"),
    (
        "o_demo_rider",
        "community_suggestion",
        "建议在驿站门口加装电动车充电桩，晚上回来经常排不上。",
    ),
    ("o_demo_resident", "health", "家里老人行动不便，希望义诊能安排上门测血压。"),
]


def _at(days: int, hour: int) -> dt.datetime:
    today = local(utcnow()).date() + dt.timedelta(days=days)
    start = dt.datetime.combine(today, dt.time(hour), SHANGHAI)
    return start.astimezone(dt.UTC).replace(tzinfo=None)


def _user(openid: str) -> User | None:
    return db.session.execute(select(User).where(User.openid == openid)).scalar_one_or_none()


def seed_activities_demo(units: dict[str, OrgUnit]) -> list[str]:
    """Posts in every community, six activities, a claim and a few needs (idempotent)."""
    posts = 0
    for unit in units.values():
        if unit.level == "community":
            posts += len(seed_default_posts(unit))
    created = 0
    for code, title, kind, place, (
        dlat,
        dlng,
    ), days, hour, hours, capacity, points, audience, text in ACTIVITIES:
        unit = units[code]
        if db.session.execute(
            select(Activity.id).where(Activity.org_unit_id == unit.id, Activity.title == title)
        ).first():
            continue
        starts = _at(days, hour)
        ended = days < 0
        db.session.add(
            Activity(
                org_unit_id=unit.id,
                title=title,
                kind=kind,
                description=text,
                place=place,
                lat=unit.center_lat + dlat,
                lng=unit.center_lng + dlng,
                radius_m=300,
                starts_at=starts,
                ends_at=starts + dt.timedelta(hours=hours),
                signup_deadline=starts - dt.timedelta(hours=2),
                capacity=capacity,
                points=points,
                audience=audience,
                status="finished" if ended else "published",
                finished_at=starts + dt.timedelta(hours=hours) if ended else None,
                published_at=utcnow(),
                qr_secret=new_secret(),
            )
        )
        created += 1
    db.session.flush()
    rider = _user("o_demo_rider")
    if rider is not None:
        _demo_rider(rider, units)
    needs = 0
    for openid, kind, content in NEEDS:
        person = _user(openid)
        if person is None or person.community_id is None:
            continue
        if db.session.execute(
            select(Need.id).where(Need.user_id == person.id, Need.content == content)
        ).first():
            continue
        db.session.add(
            Need(
                user_id=person.id,
                org_unit_id=person.community_id,
                kind=kind,
                content=content,
                photo_ids=[],
                content_flag="pass",
                status="open",
            )
        )
        needs += 1
    db.session.commit()
    return [f"activities: {created} new; posts: {posts} new; needs: {needs} new"]


def _demo_rider(rider: User, units: dict[str, OrgUnit]) -> None:
    """刘师傅 holds 流动网格员, is enrolled in the needs meeting and attended the clean-up."""
    post = db.session.execute(
        select(Post).where(Post.org_unit_id == rider.community_id, Post.name == "流动网格员")
    ).scalar_one_or_none()
    if (
        post is not None
        and not db.session.execute(
            select(PostClaim.id).where(PostClaim.user_id == rider.id, PostClaim.post_id == post.id)
        ).first()
    ):
        db.session.add(
            PostClaim(post_id=post.id, user_id=rider.id, status="approved", decided_at=utcnow())
        )
        post.holder_count += 1
    for title, attended in (
        ("暖新问需会：骑手朋友说说心里话", False),
        ("环境整治：背街小巷清洁行动", True),
    ):
        activity = db.session.execute(
            select(Activity).where(
                Activity.org_unit_id == units["C-HUAIBEI"].id, Activity.title == title
            )
        ).scalar_one_or_none()
        if (
            activity is None
            or db.session.execute(
                select(Enrolment.id).where(
                    Enrolment.activity_id == activity.id, Enrolment.user_id == rider.id
                )
            ).first()
        ):
            continue
        enrolment = Enrolment(
            activity_id=activity.id,
            user_id=rider.id,
            status="enrolled",
            seq=activity.next_seq,
            enrolled_at=utcnow(),
        )
        activity.next_seq += 1
        activity.enrolled_count += 1
        if attended:
            enrolment.signed_in_at = activity.starts_at
            enrolment.signed_out_at = activity.ends_at
            enrolment.sign_out_method = "staff"
            enrolment.service_minutes = activity.cap_minutes
            enrolment.points_awarded = 0  # demo hours only; the ledger is the points demo's
        db.session.add(enrolment)
