"""A real SMTP server on loopback for the mail tests (aiosmtpd), as a pytest plugin.

``smtp_server`` is plain SMTP; ``smtp_tls_server`` offers STARTTLS (required) with a
throwaway self-signed certificate made by ``openssl`` at test time (``cryptography``
is not installed); ``smtp_auth_server`` requires AUTH over STARTTLS. The handler
records what it accepted and can refuse a recipient (5xx), defer one (4xx), drop the
connection or call a hook when DATA arrives. Every server is stopped by its fixture.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "opcc-mailer", "s3cret-pw"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: Message

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class RecordingHandler:
    """Accepts mail and remembers it; knobs make it misbehave on purpose."""

    received: list[Received] = field(default_factory=list)
    reject: set[str] = field(default_factory=set)  # 550 at RCPT
    defer: Counter[str] = field(default_factory=Counter)  # 451 at RCPT, n times each
    drop_at_data: set[int] = field(default_factory=set)  # close the connection on DATA no. n
    on_data: Callable[[int], str | None] | None = None  # may return a reply instead of 250
    data_count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if address in self.reject:
            return "550 5.1.1 No such user here"
        if self.defer[address] > 0:
            self.defer[address] -= 1
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.data_count += 1
            n = self.data_count
        if n in self.drop_at_data:
            server.transport.close()  # the client sees the connection drop before any reply
            return "421 4.3.0 closing"
        if self.on_data is not None:
            reply = self.on_data(n)
            if reply is not None:
                return reply
        msg = message_from_bytes(envelope.original_content or envelope.content,
                                 policy=policy.default)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 OK accepted"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [r.message_id for r in self.received]


@dataclass
class Server:
    host: str
    port: int
    handler: RecordingHandler
    controller: Controller | None = None
    cert: Path | None = None

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def start_server(handler: RecordingHandler, port: int | None = None, **kwargs: Any) -> Server:
    port = port or free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return Server("127.0.0.1", port, handler, controller)


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert, key), made with openssl."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def _server_context(tls_cert: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(tls_cert[0]), str(tls_cert[1]))
    return ctx


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                   auth_data: Any) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER
          and auth_data.password.decode() == PASSWORD)
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[Server]:
    """Plain SMTP on a free loopback port."""
    server = start_server(RecordingHandler())
    yield server
    server.stop()


@pytest.fixture
def smtp_tls_server(tls_cert: tuple[Path, Path]) -> Iterator[Server]:
    """SMTP that requires STARTTLS, with a throwaway self-signed certificate."""
    server = start_server(RecordingHandler(), tls_context=_server_context(tls_cert),
                          require_starttls=True)
    server.cert = tls_cert[0]
    yield server
    server.stop()


@pytest.fixture
def smtp_implicit_tls_server(tls_cert: tuple[Path, Path]) -> Iterator[Server]:
    """SMTP over implicit TLS (the port-465 style)."""
    server = start_server(RecordingHandler(), ssl_context=_server_context(tls_cert))
    server.cert = tls_cert[0]
    yield server
    server.stop()


@pytest.fixture
def smtp_auth_server(tls_cert: tuple[Path, Path]) -> Iterator[Server]:
    """SMTP requiring STARTTLS and then AUTH as USER/PASSWORD."""
    server = start_server(RecordingHandler(), tls_context=_server_context(tls_cert),
                          require_starttls=True, auth_required=True,
                          authenticator=_authenticator)
    server.cert = tls_cert[0]
    yield server
    server.stop()


# -- mail test data: rows made directly (the transition service is not needed) ----------

ADMIN, FORCE, PCC, PANEL = ("admin@opcc.example", "liaison@force.example",
                            "pcc@opcc.example", "panel@council.example")
PEOPLE = [("Ann Admin", ADMIN, ["admin"]), ("Force Liaison", FORCE, ["force"]),
          ("Pat Commissioner", PCC, ["pcc"]), ("Panel Clerk", PANEL, ["panel"])]


def add_people(session: Any, now: Any, people: list[tuple[str, str, list[str]]] | None = None
               ) -> None:
    from workflow.storage.models import Person

    for name, email, roles in PEOPLE if people is None else people:
        session.add(Person(name=name, email=email, roles=roles, created_at=now))
    session.flush()


def add_response(session: Any, now: Any, *, title: str = "The policing response to "
                 "antisocial behaviour: PEEL spotlight report") -> Any:
    """The Norfolk report and its response (recommendations 1, 2, 3, 4, 8), state draft."""
    from datetime import date

    from workflow.storage.models import InspectionReport, Recommendation, Response

    report = InspectionReport(title=title, published_on=date(2024, 10, 10),
                              link="https://justiceinspectorates.gov.uk", created_at=now)
    session.add(report)
    session.flush()
    response = Response(report_id=report.id, force="Norfolk", deadline=date(2024, 12, 4),
                        signoff_due=date(2024, 11, 20), force_input_due=date(2024, 11, 6),
                        key_findings="Most forces need to improve how they record ASB.",
                        cc_response="The force accepts the findings.",
                        pcc_response="I welcome the report & its <recommendations>.",
                        created_at=now, updated_at=now)
    session.add(response)
    session.flush()
    for n, due in ((1, date(2025, 3, 31)), (2, date(2025, 9, 30)), (3, date(2025, 3, 31)),
                   (4, date(2024, 12, 31)), (8, date(2025, 9, 30))):
        session.add(Recommendation(response_id=response.id, number=n, due_date=due,
                                   text=f"By {due:%d %B %Y}, forces should act on item {n}.",
                                   force_response=f"Force answer {n}."))
    session.flush()
    return report, response


def transition_event(session: Any, now: Any, response: Any, trigger: str,
                     actor: str = ADMIN) -> Any:
    from workflow.audit import trail
    from workflow.audit.words import Action

    return trail.append(session, at=now, actor=actor, action=Action.TRANSITION,
                        response_id=response.id, trigger=trigger,
                        by=trail.Provenance.here("cli"))


def queue_for_transition(session: Any, *, event: Any, **kwargs: Any) -> list[Any]:
    """One transition's mail composed and written as caused by ``event``, as the service
    does it (``kwargs``: ``prepare_for_transition``'s); the rows added."""
    from workflow.mail.compose import prepare_for_transition
    from workflow.mail.outbox import write_prepared

    return [row for batch in prepare_for_transition(session, **kwargs)
            for row in write_prepared(session, batch, event)]
