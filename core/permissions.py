"""The permission catalogue: the one list of what can be granted, fixed in code."""

from enum import StrEnum


class Permission(StrEnum):
    HEROES_READ = "heroes:read"
    HEROES_WRITE = "heroes:write"
    HEROES_MANAGE = "heroes:manage"
    TEAMS_READ = "teams:read"
    TEAMS_WRITE = "teams:write"
    USERS_READ = "users:read"
    USERS_MANAGE = "users:manage"
    PERMISSIONS_MANAGE = "permissions:manage"
    AUDIT_READ = "audit:read"


CATALOGUE: dict[str, str] = {
    Permission.HEROES_READ: "List and read heroes (public fields)",
    Permission.HEROES_WRITE: "Create heroes; update and delete the heroes one owns",
    Permission.HEROES_MANAGE: "Update and delete any hero; see every hero's secret_name",
    Permission.TEAMS_READ: "List and read teams",
    Permission.TEAMS_WRITE: "Create, update and delete teams",
    Permission.USERS_READ: "List and read users",
    Permission.USERS_MANAGE: "Create, update, deactivate, unlock and delete users",
    Permission.PERMISSIONS_MANAGE: "Grant and revoke permissions and roles; create and edit roles",
    Permission.AUDIT_READ: "Read the audit log",
}

ALL_PERMISSIONS = frozenset(CATALOGUE)

ADMIN_ROLE = "admin"
ADMIN_ROLE_DESCRIPTION = "Holds every permission of the catalogue, now and later"
EVERY_PERMISSION = "*"
"""Stands in a grant row for the whole catalogue (the admin role)."""


def unknown_permissions(names: list[str] | set[str] | frozenset[str]) -> list[str]:
    return sorted(set(names) - ALL_PERMISSIONS)


def expand(granted: set[str]) -> frozenset[str]:
    if EVERY_PERMISSION in granted:
        return ALL_PERMISSIONS
    return frozenset(granted & ALL_PERMISSIONS)


def parse_scope(scope: str) -> set[str]:
    return {item for item in scope.split() if item}


def format_scope(permissions: set[str] | frozenset[str]) -> str:
    return " ".join(sorted(permissions))
