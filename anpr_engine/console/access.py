"""Who is logged in to the console, and what each role may see.

Users come from the settings (`console.users`) with Argon2 password hashes (argon2-cffi). A login
gets a random session token, kept in this process only (a restarted console asks again), sent as
an HttpOnly, SameSite=Strict cookie. Roles: operators see and answer alerts, but not covert ones;
privileged users see covert alerts too (each view audited); analysts see the shared view, no plates.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from anpr_engine.config import ConsoleRole, ConsoleUser

SESSION_S = 12 * 3600  # one shift
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An Argon2id hash to put in `console.users[].password_hash`."""
    return _hasher.hash(password)


@dataclass(frozen=True)
class User:
    name: str
    role: ConsoleRole
    agency: str | None

    @property
    def sees_plates(self) -> bool:
        return self.role != "analyst"

    @property
    def sees_covert(self) -> bool:
        return self.role == "privileged"


# With ANPR_CONSOLE_AUTH=none every visitor is this user: an operator (no covert alerts), of no agency.
NOBODY = User("anonymous", "operator", None)


class Sessions:
    """Logins checked against the configured users, and the live sessions."""

    def __init__(self, users: tuple[ConsoleUser, ...]) -> None:
        self.users = {u.name: u for u in users}
        self._live: dict[str, tuple[User, float]] = {}
        self._dummy = hash_password(secrets.token_hex(8))  # an unknown name costs as much as a wrong password

    def login(self, name: str, password: str) -> str | None:
        """A new session token, or None if the name or password is wrong."""
        u = self.users.get(name)
        try:
            _hasher.verify(u.password_hash.get_secret_value() if u else self._dummy, password)
        except (VerificationError, InvalidHashError):
            return None
        if u is None:
            return None
        token = secrets.token_urlsafe(32)
        self._live[token] = (User(u.name, u.role, u.agency), time.monotonic() + SESSION_S)
        return token

    def user(self, token: str | None) -> User | None:
        if token is None:
            return None
        live = self._live.get(token)
        if live is None:
            return None
        if time.monotonic() > live[1]:
            del self._live[token]
            return None
        return live[0]

    def logout(self, token: str | None) -> None:
        if token is not None:
            self._live.pop(token, None)
