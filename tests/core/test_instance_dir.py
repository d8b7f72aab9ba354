"""The instance folder Flask knows is the one the app uses (FENGCHAO_INSTANCE_DIR)."""

from __future__ import annotations

import os

from tests.ops.helpers import other_app, session_env


def test_flask_instance_path_is_fengchao_instance_dir(app, tmp_path):
    """`fengchao shell` printed `Instance: <checkout>/instance` while the app used
    FENGCHAO_INSTANCE_DIR (Flask's own guess)."""
    env = session_env(app, tmp_path)
    with other_app(app, env) as other:
        assert other.instance_path == env["FENGCHAO_INSTANCE_DIR"]
        assert other.config["INSTANCE_DIR"] == env["FENGCHAO_INSTANCE_DIR"]


def test_a_relative_instance_dir_is_made_absolute_for_flask(app, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {**session_env(app, tmp_path), "FENGCHAO_INSTANCE_DIR": "relative-instance"}
    with other_app(app, env) as other:
        assert other.instance_path == os.path.join(tmp_path, "relative-instance")


def test_shell_banner_names_the_instance_folder(app, tmp_path, monkeypatch):
    import code

    from click.testing import CliRunner
    from flask.cli import ScriptInfo, shell_command

    env = session_env(app, tmp_path)
    banners = []
    monkeypatch.setattr(code, "interact", lambda banner=None, local=None: banners.append(banner))
    with other_app(app, env) as other, other.app_context():  # the shell's current_app
        info = ScriptInfo(create_app=lambda: other)
        result = CliRunner().invoke(shell_command, obj=info, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"Instance: {env['FENGCHAO_INSTANCE_DIR']}" in banners[0]
