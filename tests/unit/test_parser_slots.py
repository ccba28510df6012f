"""Who parses next: a source holding a parser gets more only when nobody else waits and its parses
are quick, urgent mail first, a slot kept for it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from ingest.analysis import TIMED_OUT, Envelope, review_decision, worth_another_look
from ingest.first_look import FirstLook, head_of
from ingest.parser_slots import QUICK, SLOW_REMEMBERED, ParserSlots
from tests.unit.intake_fixtures import demo_directory

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def granted(slots: ParserSlots, jobs: list[tuple[str, bool]]) -> tuple[list, list]:
    """Queue the jobs in order; (granted (index, slot) in grant order, still waiting indexes)."""

    async def scenario():
        order = []
        tasks = [asyncio.create_task(slots.acquire(source, priority)) for source, priority in jobs]
        await asyncio.sleep(0)
        for i, task in enumerate(tasks):
            if task.done():
                order.append((i, task.result()))
        waiting = [i for i, task in enumerate(tasks) if not task.done()]
        for task in tasks:
            task.cancel()
        return order, waiting

    return asyncio.run(scenario())


def test_a_source_alone_takes_every_free_parser():
    order, waiting = granted(ParserSlots(2, 0), [("ip:a", False), ("ip:a", False), ("ip:a", False)])
    assert order == [(0, "routine"), (1, "routine")] and waiting == [2]


def test_a_parser_given_back_goes_to_a_source_holding_none_before_one_holding_some():
    async def scenario():
        slots = ParserSlots(2, 0)
        first = await slots.acquire("ip:a", False)
        await slots.acquire("ip:a", False)
        third = asyncio.create_task(slots.acquire("ip:a", False))  # came first
        other = asyncio.create_task(slots.acquire("ip:b", False))
        await asyncio.sleep(0)
        slots.release("ip:a", first, 0.01)
        await asyncio.sleep(0)
        return other.done(), third.done()

    assert asyncio.run(scenario()) == (True, False)


def test_a_source_whose_last_parse_was_slow_holds_one_parser_until_a_quick_one():
    async def scenario():
        slots = ParserSlots(3, 0)
        first = await slots.acquire("ip:a", False)
        slots.release("ip:a", first, QUICK * 4)  # slow
        held = await slots.acquire("ip:a", False)
        more = asyncio.create_task(slots.acquire("ip:a", False))
        await asyncio.sleep(0)
        seen = [more.done(), slots.at_once("ip:a"), slots.at_once("ip:b")]
        slots.release("ip:a", held, QUICK / 10)  # quick again: more parsers for it
        await asyncio.sleep(0)
        return [*seen, more.done(), slots.at_once("ip:a")]

    assert asyncio.run(scenario()) == [False, False, False, True, True]


def test_the_sources_remembered_slow_are_bounded_the_oldest_forgotten_first():
    async def scenario():
        slots = ParserSlots(1, 0)
        for n in range(SLOW_REMEMBERED + 5):
            slot = await slots.acquire(f"ip:{n}", False)
            slots.release(f"ip:{n}", slot, QUICK * 2)
        return slots.slow

    slow = asyncio.run(scenario())
    assert len(slow) == SLOW_REMEMBERED
    assert "ip:0" not in slow and f"ip:{SLOW_REMEMBERED + 4}" in slow


def test_a_source_takes_the_reserved_parser_for_its_first_urgent_job_only():
    jobs = [("ip:a", True), ("ip:a", True), ("ip:b", True)]
    order, waiting = granted(ParserSlots(1, 1), jobs)
    assert order == [(0, "reserved"), (1, "routine")] and waiting == [2]


def test_urgent_mail_takes_the_reserved_parser_that_routine_mail_never_takes():
    jobs = [("ip:a", False), ("ip:b", False), ("ip:c", False), ("ip:d", True)]
    order, waiting = granted(ParserSlots(1, 1), jobs)
    assert order == [(0, "routine"), (3, "reserved")] and waiting == [1, 2]


def test_urgent_mail_waiting_goes_before_routine_mail_that_came_first():
    async def scenario():
        slots = ParserSlots(1, 0)
        first = await slots.acquire("ip:a", False)
        routine = asyncio.create_task(slots.acquire("ip:b", False))
        urgent = asyncio.create_task(slots.acquire("ip:c", True))
        await asyncio.sleep(0)
        slots.release("ip:a", first)
        await asyncio.sleep(0)
        return urgent.done(), routine.done()

    assert asyncio.run(scenario()) == (True, False)


def test_a_released_source_may_take_a_parser_again():
    async def scenario():
        slots = ParserSlots(1, 0)
        slot = await slots.acquire("ip:a", False)
        again = asyncio.create_task(slots.acquire("ip:a", False))
        await asyncio.sleep(0)
        before = again.done()
        slots.release("ip:a", slot, 0.01)
        await asyncio.sleep(0)
        return before, again.done()

    assert asyncio.run(scenario()) == (False, True)


def envelope(sender="x@example.org", recipients=("support@dri.example",), ip="192.0.2.9"):
    return Envelope("smtp", sender, list(recipients), NOW, ip)


def raw(subject: str, sender: str) -> bytes:
    return f"From: {sender}\r\nSubject: {subject}\r\n\r\nbody\r\n".encode()


def first_look() -> FirstLook:
    return FirstLook(demo_directory(), ["urgent@dri.example"], ["127.0.0.1"])


def test_mail_to_the_urgent_address_goes_first_whoever_sends_it():
    look = first_look()
    mail = raw("hello", "x@example.org")
    assert asyncio.run(look.mail(mail, envelope(recipients=["Urgent+1@dri.example"])))


def test_an_urgent_subject_goes_first_only_from_a_contact_declared_on_an_eligible_account():
    look, sender = first_look(), "thomas.guillou@ouest-medias.fr"
    assert asyncio.run(look.mail(raw("URGENT serveur en panne", sender), envelope(sender)))
    assert not asyncio.run(look.mail(raw("URGENT serveur en panne", "x@example.org"), envelope()))
    assert not asyncio.run(look.mail(raw("Question DNS, pas urgent", sender), envelope(sender)))


def test_an_encoded_subject_is_read_and_a_broken_header_block_is_no_error():
    encoded = b"Subject: =?utf-8?q?URGENT_=E2=80=93_panne?=\r\nFrom: A <a@b.fr>\r\n\r\nx"
    assert head_of(encoded) == ("URGENT – panne", "a@b.fr")
    assert head_of(b"\xff\xfe not a header \x00") == ("", "")


def test_the_source_is_the_partner_the_client_ip_or_for_relayed_mail_the_sender():
    look = first_look()
    assert look.source(Envelope("webhook", "p", [], NOW, "192.0.2.1", "acme")) == "partner:acme"
    assert look.source(envelope(ip="192.0.2.9")) == "ip:192.0.2.9"
    assert look.source(envelope("Bob+x@Example.org", ip="127.0.0.1")) == "sender:bob@example.org"


def test_only_an_analysis_that_ran_out_of_time_deserves_a_second_one():
    assert worth_another_look(review_decision(envelope(), f"ParseTimeout: {TIMED_OUT}"))
    assert not worth_another_look(review_decision(envelope(), "ValueError: broken"))


def test_a_job_starts_at_once_only_when_nobody_waits_its_source_is_free_and_a_parser_is():
    async def scenario():
        slots = ParserSlots(1, 1)
        seen = [slots.at_once("ip:a")]
        slot = await slots.acquire("ip:a", False)
        seen += [slots.at_once("ip:b"), slots.at_once("ip:a")]  # no routine parser; busy source
        queued = asyncio.create_task(slots.acquire("ip:b", False))
        await asyncio.sleep(0)
        slots.release("ip:a", slot)  # ip:b takes the parser given back
        await asyncio.sleep(0)
        seen.append(slots.at_once("ip:c"))
        queued.cancel()
        return seen

    assert asyncio.run(scenario()) == [True, False, False, False]


class CountingLook(FirstLook):
    def __init__(self):
        super().__init__(demo_directory(), ["urgent@dri.example"], [])
        self.taken = 0

    async def mail(self, raw_mail, env):
        self.taken += 1
        return await super().mail(raw_mail, env)


def test_the_first_look_is_taken_only_for_a_mail_that_must_wait_for_a_parser():
    from ingest.analysis import Rules
    from ingest.parser_pool import ParserPool

    async def scenario():
        pool = ParserPool(demo_directory, Rules(urgent_addresses=("urgent@dri.example",)), 0)
        pool.first_look = look = CountingLook()
        try:
            await pool.analyse(raw("hello", "x@example.org"), envelope())
            alone = look.taken
            mails = [
                pool.analyse(raw("URGENT panne", "x@example.org"), envelope(ip=f"192.0.2.{i}"))
                for i in range(6)
            ]
            analyses = await asyncio.gather(*mails)
            return alone, look.taken, len(analyses)
        finally:
            pool.close()

    alone, together, done = asyncio.run(scenario())
    assert alone == 0  # a parser was free: its priority would have ordered nothing
    assert together == 5 and done == 6  # the first started at once, the five others waited
