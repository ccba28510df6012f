"""Fixtures: real Redis, PostgreSQL and SMTP on free ports; the stack on SQLite and on PostgreSQL."""

from __future__ import annotations

import os

# DKIM keys are never looked up in DNS by the tests, in this process or any it starts
# (ingest/rules/dkim_keys.py): a signature without an injected key is a "temperror".
os.environ.setdefault("GUICHET_DKIM_DNS", "false")
# Workers under test look at an idle queue every 100 ms at most, not every second (the
# production default, chosen for idle cost): each test waits for tickets, not for polls.
os.environ.setdefault("GUICHET_WORKER_IDLE_POLL_MS", "100")

import pytest

from tests.support.services import PostgresDatabases, SmtpSink, start_redis, unavailable
from tests.support.stack import Stack, stack_settings


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    try:
        server = start_redis(tmp_path_factory.mktemp("redis"))
    except Exception as exc:  # noqa: BLE001
        unavailable("redis-server", str(exc))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres():
    try:
        databases = PostgresDatabases()
        with databases.admin.connect():
            pass
    except Exception as exc:  # noqa: BLE001
        unavailable("PostgreSQL at 127.0.0.1:5432", str(exc))
    yield databases
    databases.drop_all()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'guichet.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres").create()
    yield url
    # Close this test's pooled connections now: the server's connection slots are shared by
    # every test (and every worker thread) of the session.
    from workers.store.engine import engine_for

    engine_for(url).dispose()


@pytest.fixture
def sink():
    with SmtpSink() as server:
        yield server


@pytest.fixture
def redis_url(redis_server):
    client = redis_server.client()
    client.flushall()
    return redis_server.url


@pytest.fixture
def stack(tmp_path, database_url, redis_url, sink):
    # The walking skeleton runs the listener exactly as in production: parser processes.
    settings = stack_settings(
        tmp_path / "home", database_url, redis_url, sink.address, parse_processes=1
    )
    running = Stack(settings).start()
    yield running
    running.stop()


# Tests that take 2.5 s or more (one run of the whole suite with `--durations=0`, all their
# parameters together), marked slow here so that `-m "not slow"` stays a quick run (~3 min);
# a test that is slow by nature is also marked where it is written. Refresh the list with:
#   pytest --durations=0 --durations-min=1.0  (then the tests whose total is 2.5 s or more)
SLOW = {
    "tests/browser/test_admin_console.py::test_an_admin_changes_a_sentence_customers_get_it_and_a_rollback_brings_the_old_one_back",
    "tests/browser/test_admin_console.py::test_the_console_works_with_the_keyboard_alone_and_speaks_french",
    "tests/integration/test_ack_wording_live.py::test_a_customer_identified_by_a_later_reply_gets_one_short_confirmation",
    "tests/integration/test_ack_wording_live.py::test_a_webhook_acknowledgement_refers_to_the_partners_reference_and_answers_no_mail",
    "tests/integration/test_ack_wording_live.py::test_an_urgent_acknowledgement_names_the_team_actually_alerted",
    "tests/integration/test_acknowledgements.py::test_an_urgent_covered_request_pages_the_on_call_team_once_and_the_ticket_shows_it",
    "tests/integration/test_acknowledgements.py::test_automatic_mail_is_ticketed_but_never_answered",
    "tests/integration/test_acknowledgements.py::test_the_acknowledgement_rate_limit_per_sender_holds",
    "tests/integration/test_admin_console.py::test_repeated_failures_make_the_account_wait_even_for_the_right_password",
    "tests/integration/test_behind_postfix.py::test_a_burst_through_postfix_is_ticketed_once_per_mail_with_each_real_client_address",
    "tests/integration/test_behind_postfix.py::test_a_permanent_refusal_from_the_relay_is_recorded_and_never_retried",
    "tests/integration/test_behind_postfix.py::test_unknown_addresses_are_refused_at_rcpt_by_postfix_and_nothing_is_bounced_later",
    "tests/integration/test_behind_postfix.py::test_while_guichet_is_down_postfix_defers_and_delivers_everything_once_it_is_back",
    "tests/integration/test_behind_postfix.py::test_while_the_relay_is_down_acknowledgements_wait_and_go_out_once_when_it_is_back",
    "tests/integration/test_corpus_threading.py::test_a_generated_corpus_threads_every_reply_and_merges_no_stranger",
    "tests/integration/test_embedded_redis_supervised.py::test_two_kill_9_of_the_embedded_redis_during_200_mails_loses_nothing_and_files_each_once",
    "tests/integration/test_faults.py::test_a_thousand_mails_survive_two_redis_crashes_and_a_killed_worker_exactly_once",
    "tests/integration/test_faults.py::test_an_acknowledgement_whose_worker_died_mid_send_is_sent_once_by_another",
    "tests/integration/test_faults.py::test_on_postgresql_a_database_outage_answers_451_and_then_everything_is_filed_exactly_once",
    "tests/integration/test_hostile_input.py::test_a_30_mb_attachment_is_accepted_when_the_size_limit_allows_it",
    "tests/integration/test_hostile_input.py::test_every_cpython_email_test_message_is_stored_and_ticketed_or_refused_precisely",
    "tests/integration/test_hostile_input.py::test_every_malformed_message_is_stored_and_ticketed_and_the_listener_keeps_serving",
    "tests/integration/test_imap_fetch.py::test_a_connection_dropped_mid_fetch_reconnects_and_loses_or_duplicates_nothing",
    "tests/integration/test_imap_fetch.py::test_a_message_the_parser_rejects_is_stored_traced_and_moved_aside",
    "tests/integration/test_imap_fetch.py::test_a_restart_mid_run_adds_nothing",
    "tests/integration/test_imap_fetch.py::test_a_server_that_goes_away_is_reconnected_to_when_it_is_back",
    "tests/integration/test_imap_fetch.py::test_each_message_is_ticketed_once_and_moved_to_the_processed_folder",
    "tests/integration/test_imap_fetch.py::test_guichet_run_fetches_the_configured_mailboxes_as_one_of_its_roles",
    "tests/integration/test_imap_fetch.py::test_idle_picks_up_a_message_appended_while_waiting",
    "tests/integration/test_imap_fetch.py::test_tls_and_both_logins_take_mail_in",
    "tests/integration/test_imap_fetch.py::test_without_a_processed_folder_messages_are_flagged_and_never_read_twice",
    "tests/integration/test_installed_wheel.py::test_one_mail_end_to_end_from_another_folder",
    "tests/integration/test_installed_wheel.py::test_the_installed_package_imports_from_itself_and_names_its_shipped_files",
    "tests/integration/test_loops.py::test_guichet_and_a_badly_behaved_autoresponder_exchange_at_most_one_mail_each",
    "tests/integration/test_loops.py::test_two_guichet_instances_acknowledging_each_other_send_at_most_one_acknowledgement_each",
    "tests/integration/test_metrics_scrape.py::test_a_scrape_after_real_traffic_counts_exactly_what_was_sent",
    "tests/integration/test_no_starvation.py::test_an_urgent_mail_from_a_declared_contact_is_decided_paged_and_acknowledged_ahead_of_slow_mail",
    "tests/integration/test_relay.py::test_a_permanent_refusal_ends_the_attempt_is_recorded_and_never_retried",
    "tests/integration/test_relay.py::test_a_temporary_refusal_is_retried_by_one_chain_with_back_off_until_delivered",
    "tests/integration/test_replay.py::test_a_dry_run_prints_a_decision_per_message_and_stores_nothing",
    "tests/integration/test_replay.py::test_a_maildir_and_a_folder_of_eml_files_are_replayed_like_an_mbox",
    "tests/integration/test_replay.py::test_an_interrupted_replay_continues_where_it_stopped",
    "tests/integration/test_replay.py::test_an_mbox_of_1000_mails_replayed_twice_adds_nothing_the_second_time",
    "tests/integration/test_run_home.py::test_a_second_run_in_the_same_home_exits_at_once_naming_the_first_and_touches_nothing",
    "tests/integration/test_run_home.py::test_health_commands_answer_for_each_role_of_a_running_stack",
    "tests/integration/test_run_home.py::test_logs_are_json_when_not_on_a_terminal_and_carry_the_request_ids",
    "tests/integration/test_run_home.py::test_readyz_reports_a_redis_that_does_not_answer_while_it_lasts",
    "tests/integration/test_run_home.py::test_the_banner_comes_once_smtp_http_and_workers_answer_and_says_where_acks_go",
    "tests/integration/test_run_home.py::test_the_home_and_what_guichet_keeps_in_it_are_owner_only",
    "tests/integration/test_smtp_listener_process.py::test_a_data_that_does_not_finish_within_the_bound_is_cut_with_421_and_the_listener_exits",
    "tests/integration/test_smtp_listener_process.py::test_limits_exempt_is_read_from_the_environment_as_json_or_comma_separated",
    "tests/integration/test_smtp_listener_process.py::test_on_sigterm_the_data_in_hand_is_finished_and_everything_else_gets_421_4_3_2",
    "tests/integration/test_threading_and_duplicates.py::test_a_reply_naming_the_ticket_anywhere_in_odd_references_joins_it",
    "tests/integration/test_threading_and_duplicates.py::test_a_reply_supplying_the_number_and_name_re_verifies_an_unverified_ticket",
    "tests/integration/test_threading_and_duplicates.py::test_a_reply_with_only_in_reply_to_joins_its_ticket",
    "tests/integration/test_threading_and_duplicates.py::test_a_reply_with_only_the_subject_tag_joins_its_ticket",
    "tests/integration/test_threading_and_duplicates.py::test_a_reused_message_id_with_different_content_makes_two_tickets",
    "tests/integration/test_threading_and_duplicates.py::test_a_tag_quoting_another_customers_ticket_opens_a_new_ticket_and_records_the_link",
    "tests/integration/test_threading_and_duplicates.py::test_one_mail_split_by_the_sending_relay_into_one_transaction_per_address_is_one_ticket",
    "tests/integration/test_threading_and_duplicates.py::test_one_mail_to_and_cc_two_support_addresses_in_one_transaction_is_one_ticket",
    "tests/integration/test_threading_and_duplicates.py::test_the_same_bytes_retried_through_another_relay_hop_are_one_ticket_and_one_ack",
    "tests/integration/test_threading_cases.py::test_a_colleague_at_the_same_organisation_joins_the_ticket_without_a_new_acknowledgement",
    "tests/integration/test_threading_cases.py::test_a_colleagues_out_of_office_reply_is_filed_on_the_ticket_and_never_acknowledged",
    "tests/integration/test_threading_cases.py::test_a_declared_contact_on_another_domain_joins_a_ticket_opened_from_a_public_mailbox",
    "tests/integration/test_threading_cases.py::test_a_defective_line_in_the_header_block_keeps_the_headers_after_it",
    "tests/integration/test_threading_cases.py::test_a_reply_filed_at_the_same_moment_as_its_parent_joins_the_parents_ticket",
    "tests/integration/test_threading_cases.py::test_a_ticket_title_drops_reply_and_forward_prefixes_but_the_message_keeps_its_subject",
    "tests/integration/test_threading_cases.py::test_an_unrelated_domain_replying_to_another_customers_ticket_gets_its_own_linked_ticket",
    "tests/integration/test_threading_cases.py::test_in_reply_to_wins_over_an_older_reference_to_another_requesters_ticket",
    "tests/integration/test_threading_cases.py::test_two_strangers_on_one_public_mailbox_provider_are_not_colleagues",
    "tests/integration/test_trust_boundary.py::test_a_list_of_names_is_unverified_and_its_ack_is_the_unknown_numbers_byte_for_byte",
    "tests/integration/test_trust_boundary.py::test_pages_an_unknown_sender_triggers_are_marked_and_budgeted_a_declared_ones_never",
    "tests/integration/test_trust_boundary.py::test_the_same_content_without_an_id_is_a_copy_only_within_the_window",
    "tests/integration/test_walking_skeleton.py::test_a_reply_to_the_acknowledgement_joins_the_same_ticket",
    "tests/integration/test_walking_skeleton.py::test_the_same_message_delivered_twice_makes_one_ticket_and_one_acknowledgement",
    "tests/integration/test_webhooks.py::test_a_second_request_with_the_same_external_reference_joins_the_same_ticket",
    "tests/integration/test_webhooks.py::test_a_signed_request_becomes_a_ticket_and_the_contact_is_acknowledged",
    "tests/integration/test_webhooks_adapters.py::test_a_firing_alert_opens_an_urgent_incident_its_repeats_thread_and_its_resolution_adds_a_note",
    "tests/integration/test_one_pass.py::test_each_acknowledgement_is_sent_in_the_filing_pass_without_a_send_ack_message",
    "tests/integration/test_webhooks_adapters.py::test_raw_mime_from_a_provider_becomes_the_same_ticket_and_acknowledgement_as_smtp",
    "tests/integration/test_webhooks_adapters.py::test_raw_mime_with_a_bad_signature_or_a_foreign_recipient_is_refused",
    "tests/integration/test_webhooks_hostile.py::test_partner_names_in_urls_never_grow_the_cache_past_its_bound",
    "tests/integration/test_webhooks_schema.py::test_the_api_never_fails_with_500_and_always_answers_as_documented",
    "tests/unit/test_frozen_decisions.py::test_every_decision_on_the_corpora_and_their_variants_is_byte_for_byte_the_frozen_one",
    "tests/unit/test_parse_fuzz.py::test_mail_shaped_garbage_is_parsed_and_decided_without_raising",
    "tests/unit/test_xforward.py::test_trusted_relays_may_be_addresses_or_networks_of_either_family",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.nodeid.split("[")[0] in SLOW:
            item.add_marker(pytest.mark.slow)
