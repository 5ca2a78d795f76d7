"""SPEC §4 brute force: after LOGIN_MAX_FAILURES failed logins for one username within
LOGIN_WINDOW_SECONDS, 429 with Retry-After, even with the right password, until the window
passes or an admin unlocks the account (`POST /users/{id}/unlock` here,
`hero-api unlock` in test_cli.py)."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlmodel import Session, col

from core.config import get_settings
from models import LoginThrottle
from models.common import utcnow
from tests.unit.conftest import (
    BAD_CREDENTIALS,
    DEFAULT_PASSWORD,
    WRONG_PASSWORD,
    Account,
    Configure,
    MakeUser,
    assert_forbidden,
    assert_locked_out,
    assert_refused,
    bearer,
    lock_out,
    login,
)


def max_failures() -> int:
    return get_settings().login_max_failures


def fail_logins(client: TestClient, username: str, count: int) -> None:
    for _ in range(count):
        assert_refused(login(client, username, WRONG_PASSWORD), BAD_CREDENTIALS)


def assert_logs_in(client: TestClient, username: str, password: str = DEFAULT_PASSWORD) -> None:
    response = login(client, username, password)
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    me = client.get("/users/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json()["username"].lower() == username.lower()


def move_window_start_back(engine: Engine, username_key: str, seconds: int) -> None:
    with Session(engine) as session:
        moved = session.execute(
            update(LoginThrottle)
            .where(col(LoginThrottle.username_key) == username_key)
            .values(window_started_at=utcnow() - timedelta(seconds=seconds))
        )
        session.commit()
    assert moved.rowcount == 1  # type: ignore[attr-defined]  # CursorResult of an UPDATE


def audit(client: TestClient, admin: Account, **filters: object) -> list[dict[str, object]]:
    response = client.get("/audit", params=filters, headers=admin.headers)
    assert response.status_code == 200, response.text
    records: list[dict[str, object]] = response.json()
    return records


# Counting


def test_default_limit_is_five_failures_in_fifteen_minutes() -> None:
    assert max_failures() == 5
    assert get_settings().login_window_seconds == 900


def test_after_max_failures_the_right_password_gets_429_with_retry_after(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user("alice")
    lock_out(client, "alice")
    seconds = assert_locked_out(client, "alice", alice.password)
    assert seconds > get_settings().login_window_seconds - 60
    assert_locked_out(client, "alice", WRONG_PASSWORD)
    # a lockout stops logins, not the sessions that were already open
    assert client.get("/users/me", headers=alice.headers).status_code == 200


def test_one_failure_below_the_limit_still_logs_in(client: TestClient, make_user: MakeUser) -> None:
    make_user("alice")
    fail_logins(client, "alice", max_failures() - 1)
    assert_logs_in(client, "alice")


def test_failures_are_counted_case_insensitively(client: TestClient, make_user: MakeUser) -> None:
    make_user("Alice")
    spellings = ["alice", "ALICE", "Alice", "aLiCe", "AlIcE"]
    assert len(spellings) == max_failures()
    for spelling in spellings:
        fail_logins(client, spelling, 1)
    for spelling in ("alice", "ALICE", "alicE"):
        assert_locked_out(client, spelling, DEFAULT_PASSWORD)


def test_unknown_usernames_are_counted_too(client: TestClient, make_user: MakeUser) -> None:
    make_user("alice")
    lock_out(client, "nobody")
    assert_locked_out(client, "nobody", WRONG_PASSWORD)
    assert_locked_out(client, "NoBody", WRONG_PASSWORD)
    assert_logs_in(client, "alice")


def test_a_username_no_account_can_have_is_counted_too(client: TestClient) -> None:
    lock_out(client, "not a valid username!")
    assert_locked_out(client, "NOT A VALID USERNAME!", WRONG_PASSWORD)


def test_failures_of_one_user_do_not_lock_out_another(
    client: TestClient, make_user: MakeUser
) -> None:
    make_user("alice")
    make_user("bob")
    lock_out(client, "alice")
    assert_locked_out(client, "alice", DEFAULT_PASSWORD)
    fail_logins(client, "bob", max_failures() - 1)
    assert_logs_in(client, "bob")


def test_a_success_before_the_limit_clears_the_count(
    client: TestClient, make_user: MakeUser
) -> None:
    make_user("alice")
    fail_logins(client, "alice", max_failures() - 1)
    assert_logs_in(client, "alice")
    fail_logins(client, "alice", max_failures())
    assert_locked_out(client, "alice", DEFAULT_PASSWORD)


def test_limit_and_window_follow_the_settings(
    client: TestClient, make_user: MakeUser, configure: Configure
) -> None:
    configure(LOGIN_MAX_FAILURES="2", LOGIN_WINDOW_SECONDS="60")
    make_user("alice")
    fail_logins(client, "alice", 2)
    seconds = assert_locked_out(client, "alice", DEFAULT_PASSWORD)
    assert 1 <= seconds <= 60


# The window


def test_retry_after_counts_down_what_is_left_of_the_window(
    client: TestClient, engine: Engine, make_user: MakeUser
) -> None:
    make_user("alice")
    lock_out(client, "alice")
    window = get_settings().login_window_seconds
    move_window_start_back(engine, "alice", window - 30)
    seconds = assert_locked_out(client, "alice", DEFAULT_PASSWORD)
    assert 1 <= seconds <= 30


def test_logins_work_again_once_the_window_has_passed(
    client: TestClient, engine: Engine, make_user: MakeUser
) -> None:
    make_user("alice")
    lock_out(client, "alice")
    assert_locked_out(client, "alice", DEFAULT_PASSWORD)
    move_window_start_back(engine, "alice", get_settings().login_window_seconds)
    fail_logins(client, "alice", max_failures() - 1)  # a new window: the count starts over
    assert_logs_in(client, "alice")


def test_attempts_while_locked_out_do_not_extend_the_window(
    client: TestClient, engine: Engine, make_user: MakeUser
) -> None:
    make_user("alice")
    lock_out(client, "alice")
    move_window_start_back(engine, "alice", get_settings().login_window_seconds - 30)
    for _ in range(3):
        assert assert_locked_out(client, "alice", WRONG_PASSWORD) <= 30
    move_window_start_back(engine, "alice", get_settings().login_window_seconds)
    assert_logs_in(client, "alice")


# The audit trail


def test_failed_logins_and_the_lockout_are_audited_without_the_password(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    alice = make_user("alice")
    lock_out(client, "ALICE")
    assert_locked_out(client, "alice", DEFAULT_PASSWORD)

    failed = audit(client, admin, action="auth.login_failed", target_user_id=alice.id)
    assert len(failed) == max_failures()
    assert {(r["actor_id"], r["target"]) for r in failed} == {(None, "ALICE")}
    (lockout,) = audit(client, admin, action="auth.lockout", target_user_id=alice.id)
    assert lockout["actor_id"] is None
    assert lockout["target"] == "ALICE"
    after = lockout["after"]
    assert isinstance(after, dict)
    assert after["failed_logins"] == max_failures()
    assert 1 <= after["retry_after"] <= get_settings().login_window_seconds
    everything = client.get("/audit", params={"limit": 100}, headers=admin.headers).text
    assert WRONG_PASSWORD not in everything
    assert DEFAULT_PASSWORD not in everything


def test_unknown_username_failures_are_audited_without_a_target_user(
    client: TestClient, admin: Account
) -> None:
    lock_out(client, "nobody")
    failed = [
        r for r in audit(client, admin, action="auth.login_failed") if r["target"] == "nobody"
    ]
    assert len(failed) == max_failures()
    assert {r["target_user_id"] for r in failed} == {None}
    (lockout,) = audit(client, admin, action="auth.lockout")
    assert (lockout["target"], lockout["target_user_id"]) == ("nobody", None)


# Unlocking, over HTTP


def test_admin_unlock_lets_the_next_login_through(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    alice = make_user("alice")
    lock_out(client, "ALICE")
    assert_locked_out(client, "alice", DEFAULT_PASSWORD)

    response = client.post(f"/users/{alice.id}/unlock", headers=admin.headers)

    assert response.status_code == 204
    assert response.content == b""
    assert_logs_in(client, "alice")
    (record,) = audit(client, admin, action="user.unlock", target_user_id=alice.id)
    assert record["actor_id"] == admin.id
    assert record["target"] == "alice"
    assert record["before"] == {"failed_logins_counted": True}
    assert record["after"] == {"failed_logins_counted": False}


def test_unlock_clears_the_whole_count(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    alice = make_user("alice")
    lock_out(client, "alice")
    assert client.post(f"/users/{alice.id}/unlock", headers=admin.headers).status_code == 204
    fail_logins(client, "alice", max_failures())
    assert_locked_out(client, "alice", DEFAULT_PASSWORD)


def test_unlock_of_a_user_not_locked_out_is_204(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    alice = make_user("alice")
    response = client.post(f"/users/{alice.id}/unlock", headers=admin.headers)
    assert response.status_code == 204
    (record,) = audit(client, admin, action="user.unlock", target_user_id=alice.id)
    assert record["before"] == {"failed_logins_counted": False}
    assert_logs_in(client, "alice")


def test_unlock_needs_users_manage(client: TestClient, admin: Account, make_user: MakeUser) -> None:
    alice = make_user("alice")
    reader = make_user("reader", permissions=["users:read", "permissions:manage"])
    lock_out(client, "alice")

    response = client.post(f"/users/{alice.id}/unlock", headers=reader.headers)

    assert_forbidden(response, "users:manage")
    assert_locked_out(client, "alice", DEFAULT_PASSWORD)
    assert audit(client, admin, action="user.unlock") == []


def test_unlock_without_a_token_is_401(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user("alice")
    lock_out(client, "alice")
    assert_refused(client.post(f"/users/{alice.id}/unlock"), {"detail": "Not authenticated"})
    assert_locked_out(client, "alice", DEFAULT_PASSWORD)


def test_unlock_of_an_unknown_user_is_404(client: TestClient, admin: Account) -> None:
    response = client.post("/users/999999/unlock", headers=admin.headers)
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found"}
