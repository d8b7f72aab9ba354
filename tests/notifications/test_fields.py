"""Subscribe-message values are trimmed to what WeChat accepts for each field type."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.notifications.fields import build_data, field_type, trim
from server.wechat.sandbox.validation import Refusal, check_subscribe_data


def test_thing_is_cut_to_20_characters_with_an_ellipsis():
    value = trim("thing", "小区东门路灯不亮已经三天了晚上骑手送餐很不方便请尽快处理")
    assert len(value) == 20
    assert value.endswith("…")
    assert trim("thing", "路灯  不亮\n") == "路灯 不亮"


def test_phrase_keeps_at_most_5_chinese_characters():
    assert trim("phrase", "已接单") == "已接单"
    assert trim("phrase", "处理中（网格员）A1") == "处理中网格"
    assert trim("phrase", "OK 123") is None


def test_time_is_shanghai_local_in_chinese_format():
    utc = dt.datetime(2019, 10, 1, 7, 1)  # naive = UTC → 15:01 in Shanghai
    assert trim("time", utc) == "2019年10月1日 15:01"
    aware = dt.datetime(2019, 10, 1, 15, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert trim("time", aware) == "2019年10月1日 15:01"
    assert trim("time", "2019-10-01T07:01:00+00:00") == "2019年10月1日 15:01"
    assert trim("time", "not a time") is None
    assert trim("date", dt.date(2024, 2, 9)) == "2024年2月9日"


def test_character_string_is_ascii_and_at_most_32():
    assert trim("character_string", "GD-2024-0001") == "GD-2024-0001"
    assert trim("character_string", "工单 GD 001") == "GD001"
    assert len(trim("character_string", "x" * 40)) == 32


def test_number_amount_name_and_others():
    assert trim("number", 12) == "12"
    assert trim("number", -3) == "-3"
    assert trim("number", "积分 +15 分") == "+15"
    assert trim("number", Decimal("2.50")) == "2.5"
    assert trim("number", "no digits") is None
    assert trim("number", "１２３") is None  # full-width digits are not WeChat's digits
    assert trim("number", "1" * 30 + ".256") == "1" * 30 + ".2"
    assert trim("number", "9" * 33) is None
    assert trim("amount", Decimal("12.5")) == "12.50元"
    assert trim("amount", -0.0) == "0.00元"
    assert trim("amount", "NaN") is None and trim("number", float("inf")) is None
    assert trim("name", "张三 (网格员)") == "张三网格员"
    assert trim("name", "Zhang San 123") == "Zhang San"
    assert trim("phone_number", "138-0000-0000 ext") == "138-0000-0000"
    assert trim("letter", "ab1c") == "abc"
    assert trim("symbol", "!!a??") == "!!??"
    assert field_type("thing12") == "thing"
    assert field_type("character_string3") == "character_string"


def _notification(**data):
    return SimpleNamespace(
        id=7, title="新工单", body="正文", created_at=dt.datetime(2024, 5, 1, 2, 30), data=data
    )


def test_build_data_uses_sources_and_falls_back_to_valid_values():
    fields = {"character_string1": "order_no", "phrase2": "status", "time3": "time", "thing4": "x"}
    data = build_data(fields, _notification(order_no="GD001", status="已接单"))
    assert data == {
        "character_string1": {"value": "GD001"},
        "phrase2": {"value": "已接单"},
        "time3": {"value": "2024年5月1日 10:30"},  # created_at, in Shanghai
        "thing4": {"value": "新工单"},  # the title
    }
    check_subscribe_data(data)  # what the sandbox (and WeChat) accept
    alternatives = {"character_string1": ["order_no", "report_no"], "thing2": ["none", "body"]}
    data = build_data(alternatives, _notification(report_no="R-1"))
    assert data == {"character_string1": {"value": "R-1"}, "thing2": {"value": "正文"}}


_KEYS = ["thing1", "phrase2", "time3", "character_string4", "number5", "name6", "amount7"]


@given(
    st.one_of(
        st.text(max_size=60),
        st.integers(),
        st.floats(),
        st.decimals(),
        st.none(),
    )
)
def test_any_value_becomes_acceptable(value):
    fields = {key: "v" for key in _KEYS}
    data = build_data(fields, _notification(v=value))
    try:
        check_subscribe_data(data)
    except Refusal as exc:  # pragma: no cover - the failure message shows the value
        pytest.fail(f"{value!r} → {data}: {exc.errmsg}")


def test_a_template_id_given_alone_keeps_the_default_fields_in_production_too(app, monkeypatch):
    """.env.example: WECHAT_TEMPLATE_<KIND> alone keeps the default field mapping. In
    production it had none: every such message would have gone to WeChat with no data."""
    from server.notifications.config import DEMO_TEMPLATES, templates

    monkeypatch.setitem(app.config, "FENGCHAO_ENV", "production")
    monkeypatch.setenv("WECHAT_TEMPLATE_WORK_ORDER_NEW", "TPL_REAL_123")
    monkeypatch.setitem(
        app.config,
        "WECHAT_TEMPLATES_JSON",
        '{"report_status": {"template_id": "TPL_REAL_456"}, '
        '"work_order_assigned": {"template_id": "TPL_REAL_789", "fields": {"thing1": "title"}}}',
    )
    found = templates()
    assert found["work_order_new"].template_id == "TPL_REAL_123"
    assert found["work_order_new"].fields == DEMO_TEMPLATES["work_order_new"]["fields"]
    assert found["report_status"].fields == DEMO_TEMPLATES["report_status"]["fields"]
    assert found["work_order_assigned"].fields == {"thing1": "title"}  # given: kept as given
    # and no demo template id reaches production
    assert {t.template_id for t in found.values()} == {
        "TPL_REAL_123",
        "TPL_REAL_456",
        "TPL_REAL_789",
    }


def test_a_rescheduled_activity_is_told_with_the_cancellation_template_unless_given_its_own(
    app, monkeypatch
):
    """活动变更 serves both: an install that configured only the cancellation's template
    (before the reschedule notice existed) still tells riders of a new time by WeChat."""
    from server.notifications.config import templates

    monkeypatch.setitem(app.config, "FENGCHAO_ENV", "production")
    monkeypatch.setenv("WECHAT_TEMPLATE_ACTIVITY_CANCELLED", "TPL_REAL_CHANGED")
    found = templates()
    assert found["activity_rescheduled"].template_id == "TPL_REAL_CHANGED"
    assert found["activity_rescheduled"].fields == found["activity_cancelled"].fields
    assert found["activity_waitlist_promoted"].template_id == "TPL_REAL_CHANGED"
    monkeypatch.setenv("WECHAT_TEMPLATE_REDEMPTION_CREATED", "TPL_REAL_REDEEMED")
    assert templates()["redemption_fulfilled"].template_id == "TPL_REAL_REDEEMED"
    monkeypatch.delenv("WECHAT_TEMPLATE_REDEMPTION_CREATED")
    monkeypatch.setenv("WECHAT_TEMPLATE_ACTIVITY_RESCHEDULED", "TPL_REAL_MOVED")
    assert templates()["activity_rescheduled"].template_id == "TPL_REAL_MOVED"
    monkeypatch.delenv("WECHAT_TEMPLATE_ACTIVITY_CANCELLED")
    monkeypatch.delenv("WECHAT_TEMPLATE_ACTIVITY_RESCHEDULED")
    assert "activity_rescheduled" not in templates()  # nothing configured: in-app only
