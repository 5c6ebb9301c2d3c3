"""The README tells the truth about configuration: every setting is documented there."""

from pathlib import Path

from marketplace.kernel.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_in_the_readme():
    missing = [env for env, _default, _doc in Settings.documented() if f"`{env}`" not in README]
    assert missing == []


def test_readme_starts_with_the_two_commands():
    head = README[:1500]
    assert "make run" in head and "make test" in head
