"""The directory: units, users, and role grants scoped to a unit.

Passwords are stored as scrypt hashes (stdlib ``hashlib.scrypt``, random salt per user) so the engine
needs no web framework to create or check an account.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Invalid, NotFound
from engine.roles import ROLES
from engine.store.models import RoleGrant, Unit, User

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(stored: str | None, password: str) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt_hex, digest_hex = stored.split("$", 2)
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), dklen=32, **_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)


@dataclass(frozen=True)
class Grant:
    role: str
    unit_id: str  # "" for roles that act for every unit


@dataclass(frozen=True)
class Actor:
    """Who is acting, with their grants (loaded once per request or step)."""

    user_id: str
    grants: frozenset[Grant]

    def has_role(self, role: str, unit_id: str = "") -> bool:
        if ROLES.get(role) and ROLES[role].unit_scoped:
            return Grant(role, unit_id) in self.grants
        return any(g.role == role for g in self.grants)

    def roles(self) -> set[str]:
        return {g.role for g in self.grants}


def ensure_unit(
    session: Session, unit_id: str, name_en: str | None = None, name_zh: str | None = None
) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        unit = Unit(id=unit_id, name_en=name_en or unit_id, name_zh=name_zh or name_en or unit_id)
        session.add(unit)
        session.flush()
    return unit


def unit_exists(session: Session, unit_id: str) -> bool:
    return session.get(Unit, unit_id) is not None


def ensure_user(session: Session, user_id: str, name: str | None = None, password: str | None = None) -> User:
    user = session.get(User, user_id)
    if user is None:
        user = User(
            id=user_id,
            name=name or user_id,
            active=True,
            password_hash=hash_password(password) if password else None,
        )
        session.add(user)
        session.flush()
    elif password:
        user.password_hash = hash_password(password)
    return user


def grant(session: Session, user_id: str, role: str, unit_id: str | None = None) -> None:
    """Give ``user_id`` the role (in ``unit_id`` for unit-scoped roles); idempotent."""
    spec = ROLES.get(role)
    if spec is None:
        raise Invalid(f"unknown role {role!r}", fields={"role": f"one of {', '.join(sorted(ROLES))}"})
    if spec.unit_scoped and not unit_id:
        raise Invalid(f"role {role} is scoped to a unit: name the unit", fields={"unit": "required"})
    unit = (unit_id or "") if spec.unit_scoped else ""
    if unit and not unit_exists(session, unit):
        raise NotFound(f"no unit {unit!r}")
    if session.get(User, user_id) is None:
        raise NotFound(f"no user {user_id!r}")
    existing = session.scalar(
        select(RoleGrant).where(
            RoleGrant.user_id == user_id, RoleGrant.role == role, RoleGrant.unit_id == unit
        )
    )
    if existing is None:
        session.add(RoleGrant(user_id=user_id, role=role, unit_id=unit))
        session.flush()


def load_actor(session: Session, user_id: str) -> Actor:
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise NotFound(f"no active user {user_id!r}")
    rows = session.scalars(select(RoleGrant).where(RoleGrant.user_id == user_id)).all()
    return Actor(user_id=user_id, grants=frozenset(Grant(r.role, r.unit_id) for r in rows))


def authenticate(session: Session, user_id: str, password: str) -> Actor | None:
    user = session.get(User, user_id)
    if user is None or not user.active or not check_password(user.password_hash, password):
        return None
    return load_actor(session, user_id)
