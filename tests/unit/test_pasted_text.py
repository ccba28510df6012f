import pytest

from ingest.reading.pasted_text import is_log_line, split_disclaimer


@pytest.mark.parametrize(
    "line",
    [
        "postfix/smtp[31207]: 9C1E2A0: to=<a@b.fr>, relay=mx1.b.fr[192.0.2.1]:25, status=bounced",
        "550 5.7.1 Service unavailable; client [198.51.100.23] blocked",
        "421 4.7.0 Try again later",
        'host - - [12/Mar/2025:10:00:01 +0100] "GET /index.php HTTP/1.1" 503 512',
        "Mar 12 10:00:01 srv1 sshd[23456]: Failed password for root",
        "2025-03-12T10:04:22Z ERROR upstream timed out",
        "[29-Nov-2024 14:32:07 Europe/Paris] PHP Warning:  Undefined array key",
        "Traceback (most recent call last):",
        "    at com.shop.Cart.save(Cart.java:42)",
        "java.lang.IllegalStateException: connection pool exhausted",
        " 4  203.0.113.9  58.1 ms  !H",
        "HTTP/1.1 502 Bad Gateway",
        "ERROR 2002 (HY000): Can't connect to local MySQL server through socket",
        "id=42 user=www ip=192.0.2.7 action=login",
    ],
)
def test_log_lines_and_technical_output_are_recognised(line):
    assert is_log_line(line)


@pytest.mark.parametrize(
    "line",
    [
        "Le site est en panne depuis 10:32:15 ce matin, merci de regarder.",
        "Erreur 500 sur toutes les pages du site",
        "500 Internal Server Error",
        "N° client 36021",
        "Client : 12345 / Tel : 02 98 00 00 00",
        "+33 (0)2 98 12 34 56",
        "Route de Fécamp - 76190 Yvetot",
        "j'ai mis le fichier dans /var/www/html et le site est en panne",
        "",
    ],
)
def test_the_customers_own_sentences_are_not_log_lines(line):
    assert not is_log_line(line)


def test_a_notice_and_the_paragraph_continuing_it_are_split_off():
    lines = [
        "Merci,",
        "Jean",
        "",
        "DISCLAIMER: this message may contain privileged information.",
        "",
        "Any disclosure is prohibited.",
    ]
    kept, notice = split_disclaimer(lines)
    assert kept[:2] == ["Merci,", "Jean"] and not any(kept[2:])
    assert notice == [lines[3], lines[5]]


def test_a_record_value_quoted_in_a_sentence_is_the_customers_words_not_a_log():
    line = 'Hi, could you add a TXT record _dmarc.example.co.uk "v=DMARC1; p=none"? Thanks.'
    assert not is_log_line(line)
    assert is_log_line("to=<a@example.fr>, relay=none, delay=0.1, status=deferred")
