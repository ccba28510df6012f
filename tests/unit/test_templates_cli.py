"""`guichet templates check` is the CI gate for template edits."""

from click.testing import CliRunner

from workers.cli.main import cli


def test_the_shipped_templates_pass_the_check():
    result = CliRunner().invoke(cli, ["templates", "check"])
    assert result.exit_code == 0, result.output


def test_a_broken_template_directory_fails_the_check(tmp_path, monkeypatch):
    import shutil

    from workers.acks.render import templates_dir

    copy = tmp_path / "templates"
    shutil.copytree(templates_dir(), copy)
    (copy / "ack.en.txt.j2").write_text("{% if %}broken", encoding="utf-8")
    monkeypatch.setenv("GUICHET_TEMPLATES_DIR", str(copy))
    result = CliRunner().invoke(cli, ["templates", "check"])
    assert result.exit_code == 1
    assert "ack.en.txt.j2" in result.output
