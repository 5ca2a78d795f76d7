"""No input breaks it: schemathesis generates requests from the app's own OpenAPI schema, valid
and invalid, and sends them to a real server, once as the admin and once as a plain user. No
answer may be a 5xx, and every answer must be one the schema documents (status code, content
type, body)."""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.accounts import PASSWORD, create_user, unique
from tests.integration.server import ADMIN_PASSWORD, ADMIN_USERNAME, Server, database, run_server

# Per operation and per actor, on top of the examples and the coverage phase's deterministic
# boundary and invalid cases: the whole module takes about 1.5 minutes per database on 2 cores,
# mostly the client's generation and validation.
MAX_EXAMPLES = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
TOKEN_REUSE_SECONDS = 600  # under the 15 minutes an access token lives

AnyCase = Case[Any]


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    user_id: int


@dataclass(frozen=True)
class Accounts:
    admin: Account
    plain: Account
    bystander: Account

    def acting(self) -> set[int]:
        return {self.admin.user_id, self.plain.user_id}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("fuzz")
    env = {
        # The fuzzer logs in with random passwords for any username it makes up, ours included:
        # a lockout would turn the rest of the run into 429s.
        "LOGIN_MAX_FAILURES": "1000000000",
        # Sign-up on, so that POST /auth/register is fuzzed past its 404.
        "ALLOW_REGISTRATION": "true",
    }
    with database(directory) as url, run_server(url, workdir=directory, env=env) as server:
        yield server


def new_account(server: Server, admin_headers: dict[str, str], prefix: str) -> Account:
    username = unique(prefix)
    return Account(username, PASSWORD, create_user(server, admin_headers, username))


@pytest.fixture(scope="module")
def accounts(server: Server) -> Accounts:
    headers = server.admin_headers()
    with server.client() as client:
        me = client.get("/users/me", headers=headers)
    assert me.status_code == 200, me.text
    admin = Account(ADMIN_USERNAME, ADMIN_PASSWORD, int(me.json()["id"]))
    return Accounts(
        admin=admin,
        plain=new_account(server, headers, "plain_"),
        bystander=new_account(server, headers, "bystander_"),
    )


def log_in_as(server: Server, account: Account) -> type:
    """An auth provider: the account's token through the real password flow."""

    class LogIn:
        def get(self, case: AnyCase, context: Any) -> str:
            return server.login(account.username, account.password)

        def set(self, case: AnyCase, token: str, context: Any) -> None:
            case.headers["Authorization"] = f"Bearer {token}"

    return LogIn


def names_one_of(value: object, user_ids: set[int]) -> bool:
    """Whether the server would read this path value as one of these ids: "1", "+1", "1.0"."""
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        return False
    return number.is_finite() and number == number.to_integral_value() and int(number) in user_ids


def spare_the_acting_accounts(case: AnyCase, accounts: Accounts) -> None:
    """What no fresh login can undo: the admin run setting a password on, deactivating,
    deleting or stripping the permissions of the admin or the plain user. A `user_id` naming
    either goes to a bystander account instead, which the fuzzer may wreck at will. Done here
    rather than in a generation hook, which the coverage phase's cases would bypass. (Their
    own password changes stay fuzzed: a made-up current password is a 400.)"""
    if case.method != "GET" and names_one_of(
        case.path_parameters.get("user_id"), accounts.acting()
    ):
        case.path_parameters = {**case.path_parameters, "user_id": accounts.bystander.user_id}


@pytest.fixture(scope="module", params=["admin", "plain"])
def api_schema(request: pytest.FixtureRequest, server: Server, accounts: Accounts) -> Any:
    account: Account = getattr(accounts, request.param)
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    # The token is cached, and a 401 to a request that carried it logs in again and replays the
    # request once: a fuzzed POST /auth/logout (`?all=true` included) then costs the next case
    # one login instead of turning every later case into a 401, so logout stays in the fuzz.
    # (Registered with `schema.auth(...)(Provider)`; `schema.auth(Provider)` only marks a test.)
    schema.auth(refresh_interval=TOKEN_REUSE_SECONDS, retry_on=[401])(log_in_as(server, account))
    return schema


@pytest.fixture(scope="module")
def authorized_successes(api_schema: Any) -> Iterator[Counter[str]]:
    """2xx answers to requests that carried the actor's token, by operation. If none came
    back, the run only ever saw 401s and proved nothing: that fails the run."""
    successes: Counter[str] = Counter()
    yield successes
    assert successes, "no authorized request succeeded: the fuzz never got past the login"


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture(autouse=True)
def node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32.5's `from_fixture` reads and rewrites `Node._nodeid`, which pytest 9
    no longer has (its id is now `Node._id`): without it every run is an AttributeError."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the checkout
    suppress_health_check=list(HealthCheck),
)
def test_no_input_breaks_it(
    case: AnyCase,
    http: requests.Session,
    accounts: Accounts,
    authorized_successes: Counter[str],
) -> None:
    spare_the_acting_accounts(case, accounts)
    response = case.call_and_validate(session=http, checks=CHECKS)
    if response.status_code < 300 and "Authorization" in response.request.headers:
        authorized_successes[case.operation.label] += 1
