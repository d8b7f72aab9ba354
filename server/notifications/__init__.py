"""Notifications: the outbox/inbox, subscribe-message credits, the worker and staff alerts.

- Other domains call `services.notify(user_id, kind, ...)` / `services.notify_staff(unit_id,
  kind, ...)` inside their own transaction (add + flush, no commit). One row per recipient is
  the in-app inbox entry and the outbox entry at once; after the caller commits, its ids are
  enqueued on RQ (`queue.enqueue_deliveries`; a Redis failure is logged and swallowed).
- `fengchao worker` (worker.py) runs `tasks.deliver(id)`: claim (pending → sending, commit),
  spend a subscription credit, call WeChat, mark sent. Errors: 43101 → credits cleared,
  inbox only; 40001/42001 → the client refreshes the token once and retries; -1, connect
  errors, 5xx, rate limits → exponential backoff up to NOTIFY_MAX_ATTEMPTS, then failed; a
  read timeout on a send (it may have been delivered) → failed, outcome unknown, not sent
  again; 47003/40037/41030 → failed at once, logged as a configuration problem. Each
  delivery WeChat did not make is counted (fengchao_notifications_failed_total).
- `fengchao scheduler` enqueues server.PERIODIC_JOBS once per tick (a Redis lock per job and
  tick); `tasks.sweep_outbox` (every 15 s) re-enqueues due rows and reclaims rows stuck in
  `sending` past NOTIFY_SENDING_LEASE_SECONDS (the only window for a duplicate send); a
  row stuck on its last attempt ends failed, outcome unknown (worker lost).
- Settings (config.py, documented in .env.example): WECHAT_TEMPLATES_JSON,
  WECHAT_TEMPLATE_<KIND>, WECHAT_OA_APPID, WECHAT_OA_SECRET, WECHAT_OA_TEMPLATES_JSON,
  NOTIFY_LANG, NOTIFY_MAX_ATTEMPTS, NOTIFY_RETRY_BASE_SECONDS, NOTIFY_SENDING_LEASE_SECONDS,
  NOTIFY_ESCALATE_TO.
"""
