from fastapi.testclient import TestClient

from tests.unit.conftest import Account, MakeUser


def test_admin_reads_own_profile(client: TestClient, admin: Account) -> None:
    response = client.get("/users/me", headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["roles"] == ["admin"]


def test_revoked_permission_refused_on_next_request(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob", permissions=["heroes:read"])
    assert client.get("/heroes", headers=bob.headers).status_code == 200
    response = client.delete(f"/users/{bob.id}/permissions/heroes:read", headers=admin.headers)
    assert response.status_code == 204
    response = client.get("/heroes", headers=bob.headers)
    assert response.status_code == 403
    assert response.json() == {"detail": "Missing permission: heroes:read"}
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
