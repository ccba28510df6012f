"""HTML bodies become text the intake rules can read."""

from ingest.reading import html_text
from ingest.reading.html_text import html_to_text, strip_tags


def test_scripts_styles_and_the_head_are_dropped():
    markup = (
        "<html><head><title>Titre</title><style>p {color: red}</style></head>"
        "<body><script>alert('x')</script><p>Bonjour</p></body></html>"
    )
    assert html_to_text(markup) == "Bonjour"


def test_entities_become_their_characters():
    markup = "<p>&eacute;t&eacute; &euro; l&rsquo;&eacute;quipe &laquo;c&oelig;ur&raquo; &amp; &lt;b&gt;</p>"
    assert html_to_text(markup) == "été € l’équipe «cœur» & <b>"


def test_links_keep_their_urls():
    text = html_to_text('<p>Voir <a href="https://www.exemple.fr/a?x=1&amp;y=2">la page</a></p>')
    assert "https://www.exemple.fr/a?x=1&y=2" in text
    assert "la page" in text


def test_paragraphs_breaks_lists_and_tables_keep_their_lines():
    markup = (
        "<p>Un</p><p>Deux</p><div>trois<br>quatre</div>"
        "<ul><li>cinq</li><li>six</li></ul>"
        "<table><tr><td>Serveur</td><td>srv-01</td></tr><tr><td>IP</td><td>192.0.2.7</td></tr></table>"
    )
    lines = [line.strip() for line in html_to_text(markup).splitlines()]
    assert lines[:2] == ["Un", ""]
    assert "Deux" in lines and "trois" in lines and "quatre" in lines
    assert any(line.endswith("cinq") for line in lines)
    assert any(line.endswith("six") for line in lines)
    assert any("Serveur" in line and "srv-01" in line for line in lines)
    assert any("IP" in line and "192.0.2.7" in line for line in lines)


def test_windows_paths_keep_their_backslashes():
    markup = r"<p>C:\Users\jean\Documents et \\serveur\partage\_archives\*.log</p>"
    assert html_to_text(markup) == r"C:\Users\jean\Documents et \\serveur\partage\_archives\*.log"


def test_markdown_characters_are_not_escaped():
    markup = "<p>- 1. + 5*3_2 # pas un titre [x](y)</p>"
    assert html_to_text(markup) == "- 1. + 5*3_2 # pas un titre [x](y)"


def test_non_breaking_spaces_become_spaces_and_lines_are_not_rewrapped():
    long_line = "mot " * 60
    text = html_to_text(f"<p>a&nbsp;b</p><p>{long_line}</p>")
    assert text.splitlines()[0] == "a b"
    assert long_line.strip() in text


def test_huge_html_is_stripped_in_linear_time(monkeypatch):
    monkeypatch.setattr(html_text, "MAX_HTML_CHARS", 10)
    markup = "<style>x{}</style><p>Bonjour &eacute;</p><table><tr><td>a</td><td>b</td></tr></table>"
    assert html_to_text(markup).splitlines() == ["Bonjour é", "", "a\tb"]


def test_strip_tags_keeps_line_breaks():
    assert strip_tags("un<br>deux<p>trois</p>quatre") == "un\ndeux\ntrois\nquatre"
