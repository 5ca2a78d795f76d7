"""hero-api with its auth chain replaced by one fixed principal (configuration 3): a real
user's permissions, read once at start, where the full chain reads them on every request."""

import os

from sqlmodel import Session

from api.deps import get_current_user
from api.main import app
from core import access, db, users
from core.access import Principal


def fixed_principal() -> Principal:
    user_id = int(os.environ["BENCH_PRINCIPAL_ID"])
    with Session(db.engine) as session:
        user = users.get_user(session, user_id)
        permissions = access.effective_permissions(session, user_id)
    return Principal(id=user_id, username=user.username, session_id=None, permissions=permissions)


PRINCIPAL = fixed_principal()


async def bench_principal() -> Principal:
    return PRINCIPAL


app.dependency_overrides[get_current_user] = bench_principal
