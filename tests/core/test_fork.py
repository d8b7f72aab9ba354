"""Workers forked from a preloaded app (gunicorn preload_app) get database connections of
their own: the parent's pooled connections are forgotten in the child, never shared."""

from __future__ import annotations

import os

from sqlalchemy import text

from server.extensions import db


def test_a_forked_child_does_not_reuse_the_parents_connections(app):
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.remove()
        engine = db.engine
        assert engine.pool.checkedin() >= 1  # the parent holds an idle pooled connection
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report what it inherited, then use the database
            try:
                inherited = engine.pool.checkedin()
                value = db.session.execute(text("SELECT 41 + 1")).scalar_one()
                os.write(write, f"{inherited},{value}".encode())
            finally:
                os._exit(0)
        os.close(write)
        os.waitpid(pid, 0)
        report = os.read(read, 100).decode()
        os.close(read)
        assert report == "0,42"
        # the parent's connection still works after the child exited
        assert db.session.execute(text("SELECT 1")).scalar_one() == 1
