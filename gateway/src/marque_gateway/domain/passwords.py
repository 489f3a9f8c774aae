"""The password rulebook for staff accounts.

A password is acceptable when it
- is at least `min_length` characters long (MARQUE_GATEWAY_PASSWORD_MIN_LENGTH) and at most
  `MAX_LENGTH` (hashing a megabyte on every login would be a cheap denial of service);
- mixes at least two kinds of character (lower case, upper case, digits, symbols or spaces);
- is not the username, in any case, and does not merely repeat one character.

Each broken rule yields one sentence a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass

from marque_kit.errors import InvalidInput

MAX_LENGTH = 256
MIN_CLASSES = 2


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 10
    max_length: int = MAX_LENGTH


def character_classes(password: str) -> set[str]:
    """The kinds of character a password uses: lower, upper, digit, other."""
    kinds = set()
    for ch in password:
        if ch.islower():
            kinds.add("lower")
        elif ch.isupper():
            kinds.add("upper")
        elif ch.isdigit():
            kinds.add("digit")
        else:
            kinds.add("other")
    return kinds


def password_problems(password: str, *, username: str, policy: PasswordPolicy) -> list[str]:
    """Every rule the password breaks, as sentences; empty when it is acceptable."""
    problems = []
    if len(password) < policy.min_length:
        problems.append(
            f"Use at least {policy.min_length} characters (this one has {len(password)})."
        )
    if len(password) > policy.max_length:
        problems.append(f"Use at most {policy.max_length} characters.")
    if password and len(set(password)) == 1:
        problems.append("Do not repeat a single character.")
    elif password and len(character_classes(password)) < MIN_CLASSES:
        problems.append(
            "Mix at least two kinds of character: lower case, upper case, digits or symbols."
        )
    if username and password.strip().lower() == username.strip().lower():
        problems.append("Do not use your username as your password.")
    return problems


def check_password(
    password: str, *, username: str, policy: PasswordPolicy, field: str = "password"
) -> None:
    """InvalidInput (422) naming every broken rule, or nothing."""
    problems = password_problems(password, username=username, policy=policy)
    if problems:
        raise InvalidInput(
            "Choose another password: " + " ".join(problems),
            errors=[{"field": field, "location": "body", "message": p} for p in problems],
        )
