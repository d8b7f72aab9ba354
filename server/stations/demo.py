"""Demo stations around 郑州市二七区淮河路街道 (idempotent: looked up by unit and name)."""

from __future__ import annotations

from sqlalchemy import select

from server.extensions import db
from server.stations.models import Station
from server.stations.scenes import new_secret

EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _hours(text: str) -> dict:
    return {day: [text] for day in EVERY_DAY}


# (unit code, name, kind, address, lat, lng, services, hours or None for 24 h, phone)
STATIONS = [
    (
        "C-HUAIBEI",
        "淮北街社区小哥驿站",
        "courier",
        "淮北街 56 号社区服务中心一楼",
        34.7302,
        113.6348,
        ["rest", "water", "charging", "tyre_pump", "heating_food", "toilet", "reading"],
        None,
        "0371-68881201",
    ),
    (
        "C-HUAIBEI",
        "淮河路街道党群服务中心",
        "party",
        "淮河路 88 号",
        34.7290,
        113.6375,
        ["rest", "water", "charging", "toilet", "reading", "info", "aircon"],
        _hours("08:30-18:00"),
        "0371-68881000",
    ),
    (
        "C-HUAIBEI-G1",
        "蜜雪冰城淮北街店爱心角",
        "love_corner",
        "淮北街与大学路交叉口东北角",
        34.7311,
        113.6322,
        ["water", "charging", "rest"],
        _hours("09:00-23:00"),
        None,
    ),
    (
        "C-HUAIBEI-G3",
        "中石化淮河路加油站爱心角",
        "love_corner",
        "淮河路与京广路交叉口",
        34.7296,
        113.6391,
        ["water", "tyre_pump", "toilet", "charging"],
        None,
        None,
    ),
    (
        "C-XINGHUA",
        "兴华街暖心驿站",
        "warm",
        "兴华南街 12 号院门口",
        34.7233,
        113.6458,
        ["rest", "water", "charging", "heating_food", "umbrella", "medical"],
        _hours("07:00-22:00"),
        "0371-68882202",
    ),
    (
        "C-XINGHUA",
        "兴华街零工驿站",
        "gig",
        "兴华南街 30 号",
        34.7221,
        113.6472,
        ["rest", "water", "info", "wifi", "charging"],
        _hours("08:00-20:00"),
        "0371-68882210",
    ),
    (
        "C-XINGHUA-G2",
        "美团骑手之家·兴华店",
        "courier",
        "兴华北街 5 号",
        34.7245,
        113.6451,
        ["rest", "charging", "tyre_pump", "repair", "water"],
        {
            "mon": ["10:00-02:00"],
            "tue": ["10:00-02:00"],
            "wed": ["10:00-02:00"],
            "thu": ["10:00-02:00"],
            "fri": ["10:00-02:00"],
            "sat": ["10:00-02:00"],
            "sun": ["10:00-02:00"],
        },
        None,
    ),
    (
        "C-XINGHUA-G3",
        "华润万家兴华店爱心角",
        "love_corner",
        "兴华南街与政通路交叉口",
        34.7214,
        113.6489,
        ["water", "toilet", "charging"],
        _hours("08:00-22:00"),
        None,
    ),
    (
        "C-FUHUA",
        "福华街社区暖心驿站",
        "warm",
        "福华街 21 号社区党群服务站",
        34.7202,
        113.6338,
        ["rest", "water", "charging", "heating_food", "toilet", "supplies"],
        _hours("08:00-21:00"),
        "0371-68883303",
    ),
    (
        "C-FUHUA-G1",
        "顺丰福华街营业部小哥驿站",
        "courier",
        "福华街 7 号",
        34.7196,
        113.6311,
        ["rest", "water", "charging", "tyre_pump"],
        _hours("08:00-20:00"),
        None,
    ),
    (
        "C-FUHUA-G2",
        "福华街药房爱心角",
        "love_corner",
        "福华街 33 号",
        34.7208,
        113.6349,
        ["water", "medical", "rest"],
        _hours("08:00-22:00"),
        None,
    ),
    (
        "C-FUHUA-G3",
        "瑞幸咖啡福华街店爱心角",
        "love_corner",
        "福华街与淮河路交叉口西南",
        34.7189,
        113.6366,
        ["water", "charging", "wifi", "aircon"],
        _hours("07:30-21:30"),
        None,
    ),
]


def seed_stations(units) -> list[str]:
    """A dozen stations and love corners; prints a scene a developer can check in with."""
    from server.stations.services import rebuild_geo, scene_of

    created = 0
    first = None
    for code, name, kind, address, lat, lng, services, hours, phone in STATIONS:
        unit = units[code]
        station = db.session.execute(
            select(Station).where(Station.org_unit_id == unit.id, Station.name == name)
        ).scalar_one_or_none()
        if station is None:
            station = Station(
                org_unit_id=unit.id,
                name=name,
                kind=kind,
                address=f"郑州市二七区{address}",
                lat=lat,
                lng=lng,
                services=services,
                opening_hours=hours,
                contact_phone=phone,
                qr_secret=new_secret(),
            )
            db.session.add(station)
            created += 1
        first = first or station
    db.session.commit()
    rebuild_geo()
    return [
        f"stations: {len(STATIONS)} ({created} new)",
        f"demo check-in at {first.name} (o_demo_rider): POST /api/v1/checkins "
        f'{{"scene": "{scene_of(first)}", "lat": {first.lat}, "lng": {first.lng}, '
        '"accuracy": 15}',
    ]
