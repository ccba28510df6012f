"""Standard Webhooks signatures, bearer secrets and provider form signatures, checked without a server."""

from __future__ import annotations

import pytest

from ingest.edges.webhook.signatures import (
    AuthFailure,
    mailgun_signature,
    new_secret,
    sign,
    verify,
    verify_bearer,
    verify_form,
)

NOW = 1_767_225_600
BODY = b'{"subject":"x","body":"y"}'


def headers(secret: str, *, msg_id: str = "msg_1", stamp: int = NOW, body: bytes = BODY) -> dict:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(secret, msg_id, stamp, body),
    }


def failure(call) -> str:
    with pytest.raises(AuthFailure) as caught:
        call()
    return caught.value.kind


def test_a_new_secret_has_the_standard_webhooks_form():
    secret = new_secret()
    assert secret.startswith("whsec_") and len(secret) == len("whsec_") + 44


def test_the_spec_example_signature_is_reproduced():
    # The example of the Standard Webhooks specification (signing section).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert (
        sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_a_valid_signature_returns_the_webhook_id():
    secret = new_secret()
    assert verify(headers(secret), BODY, [secret], now=NOW, tolerance=300) == "msg_1"


def test_any_of_several_offered_signatures_may_match_any_active_secret():
    old, new = new_secret(), new_secret()
    offered = headers(new)
    offered["webhook-signature"] = "v1,bm90IGl0 " + offered["webhook-signature"]
    assert verify(offered, BODY, [old, new], now=NOW, tolerance=300) == "msg_1"


def test_a_wrong_secret_matches_nothing():
    assert (
        failure(lambda: verify(headers(new_secret()), BODY, [new_secret()], now=NOW, tolerance=300))
        == "no-matching-signature"
    )


def test_one_changed_byte_matches_nothing():
    secret = new_secret()
    assert (
        failure(
            lambda: verify(
                headers(secret), BODY.replace(b"x", b"z"), [secret], now=NOW, tolerance=300
            )
        )
        == "no-matching-signature"
    )


def test_a_timestamp_outside_the_tolerance_is_stale_either_way():
    secret = new_secret()
    for stamp in (NOW - 301, NOW + 301):
        assert (
            failure(
                lambda s=stamp: verify(
                    headers(secret, stamp=s), BODY, [secret], now=NOW, tolerance=300
                )
            )
            == "stale-timestamp"
        )


def test_a_timestamp_that_is_not_a_number_is_named():
    secret = new_secret()
    bad = headers(secret) | {"webhook-timestamp": "yesterday"}
    assert (
        failure(lambda: verify(bad, BODY, [secret], now=NOW, tolerance=300)) == "invalid-timestamp"
    )


def test_missing_headers_are_listed():
    with pytest.raises(AuthFailure) as caught:
        verify({"webhook-id": "x"}, BODY, [new_secret()], now=NOW, tolerance=300)
    assert caught.value.detail == "missing header(s): webhook-timestamp, webhook-signature"


def test_a_failure_never_quotes_the_secret():
    secret = new_secret()
    with pytest.raises(AuthFailure) as caught:
        verify(headers(secret, body=b"other"), BODY, [secret], now=NOW, tolerance=300)
    assert secret not in str(caught.value) and secret[6:] not in str(caught.value)


def test_a_bearer_secret_is_accepted_only_when_active():
    secret = new_secret()
    verify_bearer(f"Bearer {secret}", [secret])
    assert (
        failure(lambda: verify_bearer(f"Bearer {new_secret()}", [secret]))
        == "no-matching-signature"
    )
    assert failure(lambda: verify_bearer("", [secret])) == "missing-signature"


def test_a_provider_form_signature_is_hmac_of_timestamp_and_token():
    key = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
    fields = {
        "timestamp": str(NOW),
        "token": "tok",
        "signature": mailgun_signature(key, str(NOW), "tok"),
    }
    assert verify_form(fields, [key], now=NOW, tolerance=300) == "tok"
    assert (
        failure(lambda: verify_form(fields | {"token": "other"}, [key], now=NOW, tolerance=300))
        == "no-matching-signature"
    )
