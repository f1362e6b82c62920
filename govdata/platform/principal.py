"""Who is acting: the typed identity every service function receives."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Principal:
    username: str
    department: str | None
    roles: frozenset[str] = field(default_factory=frozenset)
    jti: str | None = None
    client_ip: str | None = None
    request_id: str | None = None
    division: str | None = None  # administrative division code of the user's department

    def has(self, role: str) -> bool:
        return role in self.roles

    @classmethod
    def system(cls, name: str = "system") -> Principal:
        """The platform itself acting (CLI, seed loader): every role, no department."""
        return cls(username=name, department=None,
                   roles=frozenset({"superuser", "admin", "steward", "approver", "auditor",
                                    "requester"}))


ANONYMOUS = Principal(username="anonymous", department=None)
