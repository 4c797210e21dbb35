"""Who is acting: the authenticated user a service call is made for.

A plain value (not the ORM row) so services, the CLI and tests can name an actor without a
database round trip, and so nothing lazy-loads through it.
"""

from __future__ import annotations

from dataclasses import dataclass

from store.user import Role


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    role: Role

    def has(self, *roles: Role) -> bool:
        """Whether the actor holds one of `roles`."""
        return self.role in roles


SYSTEM = Actor("system", Role.ADMIN)
