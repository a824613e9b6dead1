"""``s55 doctor``: each check against the real thing it checks, and the command's exit code.

Healthy: a migrated database, an aiosmtpd server answering EHLO, a fresh scheduler
heartbeat. Then each fault on its own: the check that sees it says FAIL or WARN with
a hint, and any FAIL makes ``s55 doctor`` exit 1.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from smtp_server import Server
from sqlalchemy import text
from typer.testing import CliRunner

from tests.factories import record_office
from workflow.audit import trail
from workflow.audit.words import Action
from workflow.cli import app
from workflow.core.errors import ConfigError
from workflow.core.key_path import default_audit_key_file
from workflow.core.settings import Settings, load_settings
from workflow.doctor import diagnose
from workflow.doctor.result import Result, Status
from workflow.keys import audit_key, web_secret
from workflow.responses.service import Workflow
from workflow.storage import schema
from workflow.storage.db import Database
from workflow.storage.models import OutboxMessage

NOW = datetime(2024, 11, 22, 10, 0, tzinfo=UTC)
only_sqlite = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def statuses(results: list[Result]) -> dict[str, Status]:
    return {r.check: r.status for r in results}


def by_name(results: list[Result], name: str) -> Result:
    return next(r for r in results if r.check == name)


def beat(db: Database, at: datetime) -> None:
    """A scheduler heartbeat at ``at`` (through the scheduler's own function)."""
    escalation = pytest.importorskip("workflow.escalations.sweep")
    escalation.beat(db, "scheduler-1", at - timedelta(hours=1), at)


def run(settings: Settings, env: dict[str, str] | None = None,
        now: datetime = NOW) -> list[Result]:
    return diagnose(lambda: settings, env or {}, lambda: now)


def smtp_settings(settings: Settings, server: Server, **extra: object) -> Settings:
    return settings.model_copy(update={"smtp_host": server.host, "smtp_port": server.port,
                                       "smtp_security": "none", "smtp_timeout": 5.0, **extra})


def add_mail(db: Database, status: str, due: datetime) -> None:
    with db.write() as s:
        event = trail.append(s, at=NOW, actor="t@x.example", action=Action.MAIL_QUEUED,
                             by=trail.Provenance.here("cli"))
        s.add(OutboxMessage(event_id=event.id or 0, dedupe_key=f"k{event.id}",
                            message_id=f"<m{event.id}@s55>", kind="mail_test",
                            sender="s55@x.example", recipient="r@x.example", subject="s",
                            body_text="b", body_html="b", status=status, next_attempt_at=due,
                            created_at=NOW))


OWN_ADDRESSES = {"mail_from": "s55@norfolk-pcc.example",
                 "hmicfrs_email": "s55@hmicfrs.example",
                 "home_office_email": "s55@homeoffice.example"}


def keyed(settings: Settings, tmp_path: Path, db: Database | None = None) -> Settings:
    """``settings`` with an audit key (signing every event after the ones ``db`` holds, in
    the test's own config folder, apart from the database) and a web secret file, both
    owner-only."""
    since = (trail.head(db).last_id or 0) + 1 if db is not None else 1
    key = default_audit_key_file(os.environ)
    audit_key.create(key, since=since)
    web_secret.create(tmp_path / "web.secret")
    return settings.model_copy(update={"audit_key_file": key,
                                       "web_secret_file": tmp_path / "web.secret"})


def test_healthy_installation_is_all_ok(db: Database, settings: Settings,
                                        smtp_server: Server, tmp_path: Path) -> None:
    """Migrated database at head, SMTP answering, outbox clear, chain intact, scheduler
    beating a minute ago: every check OK, on both backends."""
    record_office(Workflow(db, settings), identity="os")
    beat(db, NOW - timedelta(minutes=1))
    results = run(smtp_settings(keyed(settings, tmp_path, db), smtp_server, identity="os",
                                base_url="https://s55.norfolk-pcc.example", **OWN_ADDRESSES))
    assert statuses(results) == {c: Status.OK for c in (
        "configuration", "secrets", "audit key", "identity", "database", "mail", "addresses",
        "links", "web", "outbox", "audit chain", "rows vs log", "scheduler", "people", "content")}
    assert by_name(results, "database").detail.endswith(f"at revision {schema.head()} (head)")
    assert by_name(results, "mail").detail == (f"SMTP 127.0.0.1:{smtp_server.port} (none) "
                                               "answered EHLO")


@only_sqlite
class TestFaults:
    def test_smtp_not_answering(self, settings: Settings, smtp_server: Server) -> None:
        """An SMTP server that is down is a FAIL naming host and port."""
        smtp_server.stop()
        mail = by_name(run(smtp_settings(settings, smtp_server)), "mail")
        assert mail.status is Status.FAIL
        assert mail.detail.startswith(f"SMTP 127.0.0.1:{smtp_server.port} (none): ")
        assert "cannot connect" in mail.detail

    def test_smtp_login_rejected(self, settings: Settings, smtp_auth_server: Server) -> None:
        """A wrong SMTP password is a FAIL that says the login was rejected (and does not
        show the password)."""
        bad = smtp_settings(settings, smtp_auth_server, smtp_security="starttls",
                            smtp_ca_file=smtp_auth_server.cert, smtp_username="opcc-mailer",
                            smtp_password=SecretStr("wrong-pw"))
        mail = by_name(run(bad, {"S55_SMTP_PASSWORD": "wrong-pw"}), "mail")
        assert mail.status is Status.FAIL
        assert "login as opcc-mailer rejected" in mail.detail
        assert "wrong-pw" not in mail.detail

    def test_spool_in_use_is_a_warning_and_unwritable_spool_a_failure(
            self, settings: Settings, tmp_path: Path) -> None:
        """No SMTP host: WARN that mail is only spooled; a spool folder that cannot be
        created (under a regular file) is a FAIL. Neither creates the folder."""
        mail = by_name(run(settings), "mail")
        assert mail.status is Status.WARN
        assert "written to the spool folder" in mail.detail
        assert not settings.spool_dir.exists()
        (tmp_path / "a-file").write_text("x")
        blocked = settings.model_copy(update={"spool_dir": tmp_path / "a-file" / "spool"})
        mail = by_name(run(blocked), "mail")
        assert mail.status is Status.FAIL
        assert mail.detail == f"spool: cannot create {tmp_path / 'a-file' / 'spool'}"

    def test_reserved_addresses(self, settings: Settings, smtp_server: Server) -> None:
        """The .invalid default addresses: a WARN naming the variables while mail is only
        spooled, a FAIL once it would really be sent (it could never arrive); OK when
        the OPCC has set its own."""
        spooled = by_name(run(settings), "addresses")
        assert (spooled.status, spooled.detail) == (Status.WARN, (
            "S55_MAIL_FROM, S55_HMICFRS_EMAIL, S55_HOME_OFFICE_EMAIL not set: still the "
            "reserved .invalid default"))
        partly = settings.model_copy(update={"mail_from": "s55@norfolk-pcc.example"})
        sent = by_name(run(smtp_settings(partly, smtp_server)), "addresses")
        assert sent.status is Status.FAIL
        assert sent.detail.startswith("S55_HMICFRS_EMAIL, S55_HOME_OFFICE_EMAIL not set")
        assert "s55(6)" in sent.hint
        own = by_name(run(settings.model_copy(update=OWN_ADDRESSES)), "addresses")
        assert (own.status, own.detail) == (Status.OK, (
            "from s55@norfolk-pcc.example; s55(6) copies to s55@hmicfrs.example and "
            "s55@homeoffice.example"))

    def test_links_need_https_once_mail_is_sent(self, settings: Settings,
                                                smtp_server: Server, tmp_path: Path) -> None:
        """S55_BASE_URL: unset is a WARN saying what to set; plain http is a FAIL once mail
        really goes out, and fine while it is only spooled (the demo); https is OK."""
        unset = by_name(run(settings), "links")
        assert unset.status is Status.WARN
        assert "set S55_BASE_URL" in unset.hint
        keyless = settings.model_copy(update={"base_url": "https://s55.norfolk-pcc.example"})
        no_key = by_name(run(keyless), "links")
        assert no_key.status is Status.WARN
        assert no_key.detail.startswith("no audit key: the links' tokens derive from the "
                                        "audit key, so none is issued")
        demo = keyed(settings, tmp_path).model_copy(
            update={"base_url": "http://127.0.0.1:8055"})
        assert by_name(run(demo), "links").status is Status.OK
        sent = smtp_settings(demo, smtp_server)
        plain = by_name(run(sent), "links")
        assert (plain.status, plain.detail) == (Status.FAIL, (
            "S55_BASE_URL http://127.0.0.1:8055 is not https: the links people are mailed "
            "would carry their tokens in the clear"))
        secure = sent.model_copy(update={"base_url": "https://s55.norfolk-pcc.example"})
        assert by_name(run(secure), "links").status is Status.OK

    def test_the_web_secret_file_must_be_owner_only(self, settings: Settings,
                                                    tmp_path: Path) -> None:
        """S55_WEB_SECRET_FILE: unset is a WARN (sessions end with the process); missing
        or readable by others is a FAIL saying what to do; owner-only is OK; a proxy
        list of * is a WARN."""
        unset = by_name(run(settings), "web")
        assert unset.status is Status.WARN
        assert "set S55_WEB_SECRET_FILE" in unset.hint
        path = tmp_path / "web.secret"
        named = settings.model_copy(update={"web_secret_file": path})
        missing = by_name(run(named), "web")
        assert (missing.status, missing.detail) == (Status.FAIL, (
            f"web secret file {path}: does not exist; `s55 init` or `s55 serve` makes it"))
        web_secret.create(path)
        assert by_name(run(named), "web").status is Status.OK
        path.chmod(0o640)
        shared = by_name(run(named), "web")
        assert (shared.status, shared.hint) == (Status.FAIL, f"`s55 init` creates it; "
                                                f"chmod 600 {path}")
        assert "may be read by others (mode 640)" in shared.detail
        path.chmod(0o600)
        anyone = named.model_copy(update={"trusted_proxy": "*"})
        assert by_name(run(anyone), "web").status is Status.WARN

    def test_init_creates_the_web_secret_and_bad_proxies_are_refused(
            self, db_url: str, tmp_path: Path) -> None:
        path = tmp_path / "web.secret"
        env = {"S55_DATABASE_URL": db_url, "S55_WEB_SECRET_FILE": str(path)}
        done = CliRunner().invoke(app, ["init", "--office", "OPCC for Norfolk"], env=env)
        assert done.exit_code == 0, done.output
        assert f"web secret created in {path} (owner-only)" in done.output
        assert path.stat().st_mode & 0o777 == 0o600
        with pytest.raises(ConfigError, match="S55_TRUSTED_PROXY: 'proxy.example' is not an "
                                              "IP address or network"):
            load_settings(trusted_proxy="127.0.0.1, proxy.example")
        assert load_settings(trusted_proxy=" 10.0.0.1, 10.1.0.0/16").trusted_proxy == \
            "10.0.0.1,10.1.0.0/16"

    @pytest.mark.parametrize("value", ["javascript:alert(1)", "ftp://x.example",
                                       "https://x.example/?next=1", "s55.example"])
    def test_a_base_url_that_is_no_web_address(self, settings: Settings, value: str) -> None:
        """Not an http(s) address with a host (or one with a query): the settings refuse
        it, naming the variable."""
        with pytest.raises(ConfigError, match="S55_BASE_URL: .* is not an http"):
            load_settings(base_url=value)

    def test_database_unreachable(self, settings: Settings) -> None:
        """A database nobody answers on: FAIL, and the checks that need it are reported as
        not checked."""
        down = settings.model_copy(update={"database_url": "postgresql://s55@127.0.0.1:9/s55"})
        results = run(down)
        assert by_name(results, "database").status is Status.FAIL
        assert "cannot open database postgresql://s55@127.0.0.1:9/s55" in \
            by_name(results, "database").detail
        for name in ("outbox", "audit chain", "rows vs log", "scheduler"):
            assert by_name(results, name).detail.startswith("not checked")

    @pytest.mark.parametrize("state", ["empty", "behind"])
    def test_schema_not_at_head(self, settings: Settings, tmp_path: Path, state: str) -> None:
        """An empty database or one a revision behind is a FAIL whose hint is the command
        that fixes it."""
        db = Database(f"sqlite:///{tmp_path / 'other.db'}")
        if state == "behind":
            schema.upgrade(db)
            schema.downgrade(db, "-1")
            if schema.current(db) is None:
                pytest.skip("only one revision so far")
        db.dispose()
        other = settings.model_copy(update={"database_url": db.url})
        result = by_name(run(other), "database")
        assert result.status is Status.FAIL
        assert result.hint.startswith("run `s55 db upgrade`")

    def test_dead_and_stuck_mail(self, db: Database, settings: Settings) -> None:
        """Mail due for hours is a WARN (no dispatcher?); dead mail is a FAIL with the
        commands to look and retry."""
        add_mail(db, "pending", NOW - timedelta(hours=2))
        outbox = by_name(run(settings), "outbox")
        assert (outbox.status, outbox.detail) == (Status.WARN,
                                                  "1 message(s) due for over 60 minutes")
        add_mail(db, "dead", NOW - timedelta(hours=2))
        outbox = by_name(run(settings), "outbox")
        assert outbox.status is Status.FAIL
        assert "`s55 outbox retry ID`" in outbox.hint

    def test_broken_audit_chain(self, db: Database, settings: Settings) -> None:
        """An audit event altered behind the triggers' back is a FAIL naming the event."""
        add_mail(db, "sent", NOW)
        path = db.url.removeprefix("sqlite:///")
        db.dispose()
        conn = sqlite3.connect(path)
        conn.execute("DROP TRIGGER audit_event_no_update")
        conn.execute("UPDATE audit_event SET actor = 'mallory@x.example' WHERE id = 1")
        conn.commit()
        conn.close()
        result = by_name(run(settings), "audit chain")
        assert result.status is Status.FAIL
        assert result.detail.startswith("broken at event 1: content does not match its hash")

    def test_a_row_changed_behind_s55s_back(self, db: Database, settings: Settings) -> None:
        """A response row that no longer equals the replay of its events is a FAIL naming the
        response, the field and both values."""
        from tests.factories import norfolk
        from workflow.responses.service import Workflow

        rid = norfolk(Workflow(db, settings))
        assert by_name(run(settings), "rows vs log").status is Status.OK
        with db.engine.begin() as conn:
            conn.execute(text(f"UPDATE response SET state = 'published' WHERE id = {rid}"))
        result = by_name(run(settings), "rows vs log")
        assert (result.status, result.detail) == (
            Status.FAIL, f"response {rid}: state is 'published' in the row but 'draft' by its "
                         "events")

    def test_scheduler_heartbeat(self, db: Database, settings: Settings) -> None:
        """No heartbeat ever: WARN; one twenty minutes old: FAIL (the scheduler is down);
        one a minute old: OK."""
        never = by_name(run(settings), "scheduler")
        assert (never.status, never.detail) == (
            Status.WARN, "no scheduler has ever run (neither `s55 run` nor `s55 escalations "
            "sweep`): escalations are not being sent")
        beat(db, NOW - timedelta(minutes=20))
        stale = by_name(run(settings), "scheduler")
        assert (stale.status, stale.detail) == (Status.FAIL, "last heartbeat: daemon "
                                                "scheduler-1 at 2024-11-22 09:40 UTC, 20 "
                                                "minutes ago")
        beat(db, NOW - timedelta(minutes=1))
        assert by_name(run(settings), "scheduler").status is Status.OK

    def test_a_sweep_from_cron_is_a_scheduler(self, db: Database, settings: Settings) -> None:
        """`s55 escalations sweep` (as the README suggests for cron) records its run: the
        check names the sweep and when it ran, instead of "no scheduler has ever run"."""
        result = CliRunner().invoke(app, ["escalations", "sweep", "--now",
                                          "2024-11-22T09:05:00+00:00"],
                                    env={"S55_DATABASE_URL": settings.database_url,
                                         "S55_SPOOL_DIR": str(settings.spool_dir)})
        assert result.exit_code == 0, result.output
        check = by_name(run(settings), "scheduler")
        assert (check.status, check.detail) == (
            Status.OK, f"last run: sweep sweep@{socket.gethostname()} at 2024-11-22 09:05 "
            "UTC, 55 minutes ago")

    @pytest.mark.parametrize(("swept", "now", "status", "words"), [
        # Fri 22 Nov 2024 09:05, checked Mon 25 Nov 09:30: the weekend needs no sweep.
        (datetime(2024, 11, 22, 9, 5, tzinfo=UTC), datetime(2024, 11, 25, 9, 30, tzinfo=UTC),
         Status.OK, "3 days ago"),
        # ... but by 10:01 on Monday the 09:00 escalations should have been swept.
        (datetime(2024, 11, 22, 9, 5, tzinfo=UTC), datetime(2024, 11, 25, 10, 1, tzinfo=UTC),
         Status.FAIL, "escalations due at 09:00 on Mon 25 Nov 2024 have not been swept"),
        # Tue 24 Dec 2024, checked Fri 27 Dec before nine: Christmas and Boxing Day are
        # bank holidays, so nothing was due since.
        (datetime(2024, 12, 24, 9, 5, tzinfo=UTC), datetime(2024, 12, 27, 8, 0, tzinfo=UTC),
         Status.OK, "2 days ago"),
        # A sweep at 08:55 runs before escalations fall due (09:00): they wait a day.
        (datetime(2024, 11, 21, 8, 55, tzinfo=UTC), datetime(2024, 11, 21, 10, 30, tzinfo=UTC),
         Status.FAIL, "escalations due at 09:00 on Thu 21 Nov 2024 have not been swept"),
        # Summer time: 09:00 London is 08:00 UTC, so a sweep at 08:10 UTC is in time.
        (datetime(2024, 6, 3, 8, 10, tzinfo=UTC), datetime(2024, 6, 3, 9, 30, tzinfo=UTC),
         Status.OK, "80 minutes ago"),
    ])
    def test_a_sweep_must_follow_each_working_days_escalations(
            self, db: Database, settings: Settings, swept: datetime, now: datetime,
            status: Status, words: str) -> None:
        """Run from cron, a sweep is late once escalations fell due (09:00 London on a
        working day) more than an hour ago and no sweep has run since; weekends and bank
        holidays ask for none."""
        escalation = pytest.importorskip("workflow.escalations.sweep")
        escalation.beat(db, "sweep@cron-host", swept, swept)
        check = by_name(run(settings, now=now), "scheduler")
        assert check.status is status
        assert check.detail.startswith(
            f"last run: sweep sweep@cron-host at {swept:%Y-%m-%d %H:%M} UTC")
        assert words in check.detail

    def test_the_latest_of_daemon_and_sweep_is_named(self, db: Database,
                                                     settings: Settings) -> None:
        """Both kinds have run: the check names the latest. A daemon that stopped beating
        within the day is a WARN even though a sweep ran after it (someone may have swept
        by hand while it was down); a daemon gone for days is not mentioned."""
        escalation = pytest.importorskip("workflow.escalations.sweep")
        beat(db, NOW - timedelta(hours=2))  # the daemon, scheduler-1
        escalation.beat(db, "sweep@h", NOW - timedelta(minutes=30), NOW - timedelta(minutes=30))
        check = by_name(run(settings), "scheduler")
        assert (check.status, check.detail) == (
            Status.WARN, "last run: sweep sweep@h at 2024-11-22 09:30 UTC, 30 minutes ago; "
            "daemon scheduler-1 stopped beating 2 hours ago")
        later = NOW + timedelta(days=3)  # Mon 25 Nov, 10:00
        escalation.beat(db, "sweep@h", later - timedelta(minutes=30), later - timedelta(minutes=30))
        assert by_name(run(settings, now=later), "scheduler").status is Status.OK
        beat(db, later - timedelta(seconds=20))
        check = by_name(run(settings, now=later), "scheduler")
        assert (check.status, check.detail) == (
            Status.OK, "last heartbeat: daemon scheduler-1 at 2024-11-25 09:59 UTC, 20 s ago")

    def test_missing_heartbeat_table(self, db: Database, settings: Settings) -> None:
        """A database without the heartbeat table (an older schema) is a WARN, not a crash."""
        pytest.importorskip("workflow.escalations.sweep")
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE scheduler_heartbeat"))
        result = by_name(run(settings), "scheduler")
        assert result.status is Status.WARN
        assert result.detail.startswith("no scheduler heartbeat table")

    @pytest.mark.parametrize(("change", "env", "status", "words"), [
        ({"smtp_password": SecretStr("pw")}, {}, Status.FAIL,
         "somewhere other than S55_SMTP_PASSWORD"),
        ({"smtp_username": "u"}, {}, Status.WARN, "S55_SMTP_PASSWORD is not set"),
        ({"database_url": "postgresql://u:pw@127.0.0.1:9/x"}, {}, Status.WARN,
         "the database URL contains a password"),
        ({"smtp_username": "u", "smtp_password": SecretStr("pw")}, {"S55_SMTP_PASSWORD": "pw"},
         Status.OK, "SMTP password only from the environment"),
    ])
    def test_secrets(self, settings: Settings, change: dict[str, object], env: dict[str, str],
                     status: Status, words: str) -> None:
        """The SMTP password must come from S55_SMTP_PASSWORD; none in the database URL."""
        result = by_name(run(settings.model_copy(update=change), env), "secrets")
        assert result.status is status
        assert words in result.detail


@only_sqlite
class TestCommand:
    @pytest.fixture
    def doctor(self, settings: Settings) -> Callable[..., object]:
        def invoke(*args: str, **env: str):  # type: ignore[no-untyped-def]
            base = {"S55_DATABASE_URL": settings.database_url,
                    "S55_SPOOL_DIR": str(settings.spool_dir)}
            return CliRunner().invoke(app, ["doctor", *args], env={**base, **env})
        return invoke

    def test_table_and_exit_zero_with_warnings(self, doctor,  # type: ignore[no-untyped-def]
                                               settings: Settings) -> None:
        """Warnings only (spool, no scheduler yet): a table of every check, exit 0."""
        record_office(Workflow(Database(settings.database_url), settings))
        result = doctor()
        assert result.exit_code == 0, result.output
        for word in ("configuration", "database", "mail", "outbox", "audit chain",
                     "scheduler", "OK", "WARN"):
            assert word in result.stdout

    def test_json_and_exit_one_on_failure(self, doctor, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        """``--json`` lists every check; a FAIL (an empty database) makes the exit code 1."""
        result = doctor("--json", S55_DATABASE_URL=f"sqlite:///{tmp_path / 'new.db'}")
        assert result.exit_code == 1
        data = json.loads(result.stdout)
        assert data["ok"] is False
        assert {c["check"]: c["status"] for c in data["checks"]}["database"] == "FAIL"

    def test_bad_configuration(self, doctor) -> None:  # type: ignore[no-untyped-def]
        """Settings that do not load are one FAIL row naming the variable, exit 1."""
        result = doctor("--json", S55_SMTP_SECURITY="ssl")
        assert result.exit_code == 1
        (check,) = json.loads(result.stdout)["checks"]
        assert check["check"] == "configuration"
        assert check["status"] == "FAIL"
        assert check["detail"].startswith("settings do not load: S55_SMTP_SECURITY: String "
                                          "should match pattern")


def test_the_readme_set_up_names_the_addresses_doctor_requires() -> None:
    """``s55 doctor`` fails until every address whose default is a reserved ``.invalid``
    one is set (the s55(6) copies would reach nobody): the README's set-up, where an OPCC
    sets s55 up, names each of those variables."""
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    setup = readme.split("\n## Set-up", 1)[1].split("\n## ", 1)[0]
    required = [f"S55_{name.upper()}" for name, field in Settings.model_fields.items()
                if str(field.default).endswith(".invalid")]
    assert sorted(required) == ["S55_HMICFRS_EMAIL", "S55_HOME_OFFICE_EMAIL", "S55_MAIL_FROM"]
    for variable in required:
        assert f"`{variable}`" in setup, f"the README's set-up does not name {variable}"
