"""Synthetic customers for the generated corpus: organisations, their people and domains, and the directory CSV that declares them."""

from __future__ import annotations

import csv
import random
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

GIVEN = [
    "Jean", "Marie", "Pierre", "Sophie", "Nicolas", "Camille", "Julien", "Léa", "Thomas", "Chloé",
    "Antoine", "Manon", "Hélène", "François", "Gwénaël", "Maëlle", "Loïc", "Aurélie", "Yann",
    "Nolwenn", "Erwan", "Anne-Sophie", "Jean-Luc", "Émilie", "Ronan", "Soizic", "Mathieu",
    "Claire", "Paul", "Élodie", "James", "Emily", "Oliver", "Charlotte", "Henry", "Grace",
]  # fmt: skip
FAMILY = [
    "Le Goff", "Kerbrat", "Hervé", "Morvan", "Guillou", "Le Bihan", "Tanguy", "Picard", "Cadiou",
    "Jézéquel", "Quéméner", "Le Gall", "Le Roux", "Riou", "Le Floch", "Bodénès", "Caradec",
    "Nicolas", "Moreau", "Lefèvre", "Dubois", "Garnier", "Fontaine", "Chevalier", "Smith",
    "Clarke", "O'Connor", "Taylor", "Evans", "Walker", "Müller", "Schneider",
]  # fmt: skip
TRADES = [
    "boulangerie", "transports", "cabinet", "atelier", "imprimerie", "garage", "pharmacie",
    "optique", "menuiserie", "conserverie", "studio", "agence", "mairie", "clinique", "hotel",
    "librairie", "brasserie", "ferme", "chantier", "logistique", "medias", "numerique",
]  # fmt: skip
PLACES = [
    "brest", "quimper", "morlaix", "lorient", "vannes", "rennes", "nantes", "lannion", "douarnenez",
    "concarneau", "landerneau", "carhaix", "pontivy", "dinan", "plougastel", "crozon", "roscoff",
]  # fmt: skip
SUFFIXES = [".fr", ".fr", ".fr", ".com", ".bzh", ".co.uk", ".de", ".eu"]
PUBLIC_PROVIDERS = ["gmail.com", "orange.fr", "free.fr", "laposte.net", "hotmail.fr", "yahoo.fr"]
SERVICES = [
    ("dedicated_server;email_hosting;database", "24/7", "30min"),
    ("dedicated_server;shared_hosting", "business", "4h"),
    ("dedicated_service;shared_hosting;domain_names", "business", "4h"),
    ("transit;dedicated_service", "24/7", "1h"),
    ("shared_hosting;email_hosting;domain_names", "business", "4h"),
    ("shared_hosting;domain_names", "business", "4h"),
]


@dataclass
class Person:
    name: str
    address: str
    declared: bool  # a contact declared on the account (in the directory)


@dataclass
class Organisation:
    client_number: str
    company: str
    domain: str  # its own domain; "" for a customer who writes from a public mailbox
    people: list[Person] = field(default_factory=list)
    services: tuple[str, str, str] = SERVICES[0]

    @property
    def declared(self) -> list[Person]:
        return [p for p in self.people if p.declared]


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum() or c == "-")


def _local_part(given: str, family: str, style: int) -> str:
    """ "jean-luc.le-goff", "j.legoff" or "jeanluclegoff": the ways companies spell addresses."""
    given, family = _ascii(given), _ascii(family.replace(" ", "-"))
    if style == 0:
        return f"{given}.{family}"
    if style == 1:
        return f"{given[:1]}.{family.replace('-', '')}"
    return (given + family).replace("-", "")


def _person(rng: random.Random, domain: str, declared: bool, taken: set[str]) -> Person:
    while True:
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        name = f"{given} {family}"
        local = _local_part(given, family, rng.randrange(3))
        address = f"{local}@{domain or rng.choice(PUBLIC_PROVIDERS)}"
        if address not in taken:
            taken.add(address)
            return Person(name, address, declared)


def organisations(count: int, seed: int = 11) -> list[Organisation]:
    """`count` customers: most with their own domain and 2–5 people (some not declared, the
    colleagues), a few writing from public mailboxes with a declared contact elsewhere."""
    rng = random.Random(seed)
    orgs, taken, domains = [], set(), set()
    for n in range(count):
        number = f"{30000 + n * 7 % 60000:05d}"
        trade, place = rng.choice(TRADES), rng.choice(PLACES)
        domain = f"{trade}-{place}{n}{rng.choice(SUFFIXES)}"
        public = n % 12 == 0  # one customer in twelve writes from a public mailbox
        org = Organisation(number, f"{trade.title()} {place.title()} {n}", "" if public else domain)
        org.services = SERVICES[n % len(SERVICES)]
        domains.add(domain)
        for k in range(rng.randint(2, 5)):
            org.people.append(_person(rng, org.domain, declared=k < 2, taken=taken))
        if public:  # a colleague at the company's own domain, declared on the account
            org.people.append(_person(rng, domain, declared=True, taken=taken))
        orgs.append(org)
    return orgs


def write_directory(orgs: list[Organisation], path: Path) -> Path:
    """The directory CSV `guichet directory import` reads: one row per declared contact."""
    header = [
        "client_number", "company", "contact_name", "contact_email", "services", "coverage", "gti",
    ]  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for org in orgs:
            services, coverage, gti = org.services
            for person in org.declared:
                writer.writerow(
                    [
                        org.client_number,
                        org.company,
                        person.name,
                        person.address,
                        services,
                        coverage,
                        gti,
                    ]
                )
    return path
