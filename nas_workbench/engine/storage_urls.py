"""Storage URLs as text: a password hidden for messages, removed where others read the URL, and the
PostgreSQL driver this machine has. Nothing here connects; the server extension and the CLI use it light."""

from __future__ import annotations

import importlib.util

from sqlalchemy.engine import URL, make_url

__all__ = ["PASSWORD_NOTE", "masked_url", "normalize_url", "url_without_password"]


def masked_url(url: str) -> str:
    """``url`` with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can parse: nothing to hide that we can find
        return url


def url_without_password(url: str) -> str:
    """``url`` with no password at all, for URLs written where others read them (a notebook, a report):
    the database driver then finds the password where libpq looks for it (``PGPASSWORD``, ``~/.pgpass``)."""
    try:
        parsed = make_url(url)
    except Exception:  # not a URL SQLAlchemy can parse: nothing to remove that we can find
        return url
    if not parsed.password:
        return url
    bare = URL.create(  # URL.set(password=None) leaves the password as it was
        parsed.drivername, parsed.username, None, parsed.host, parsed.port, parsed.database, parsed.query
    )
    return bare.render_as_string(hide_password=False)


#: What a notebook that opens a database server says about the password it does not carry.
PASSWORD_NOTE = (
    "The storage's password is not written here: the database driver reads it from the `PGPASSWORD` "
    "environment variable or from `~/.pgpass` (libpq's password file) of the kernel's machine."
)


def normalize_url(url: str) -> str:
    """Pick an installed PostgreSQL driver for a driverless ``postgresql://`` URL.

    SQLAlchemy 2.1 maps ``postgresql://`` to psycopg 3, which the ``postgres`` extra installs, so plain
    Optuna reads the same URLs; a machine that only has psycopg2 gets it named here. A URL that names its
    driver (``postgresql+psycopg2://``) is left alone.
    """
    try:
        parsed = make_url(url)
    except Exception:
        return url
    if (
        parsed.drivername == "postgresql"
        and importlib.util.find_spec("psycopg") is None
        and importlib.util.find_spec("psycopg2") is not None
    ):
        return parsed.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)
    return url
