"""The mesh's secrets: the key of the ``hash`` mask and the key that signs query receipts.

Neither lives in the registry (a copy of the registry must not let anyone recompute masked values or
forge receipts). Each comes from the environment (``QUANTA_MASK_KEY``, ``QUANTA_RECEIPT_KEY``) or,
when unset, from a file in the workspace's state folder (``.quanta/keys/<name>.key``), created on
first use with 32 random bytes, readable by its owner only (0600), in a folder git ignores.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from quanta.errors import QuantaError

KEY_DIR = "keys"
ENVIRONMENT = {"mask": "QUANTA_MASK_KEY", "receipt": "QUANTA_RECEIPT_KEY"}


class MeshKeyError(QuantaError):
    """A mesh key cannot be read or created."""


@dataclass(frozen=True)
class MeshKey:
    """One secret and where it came from (never the secret itself in ``source``)."""

    name: str
    secret: bytes
    source: str

    @property
    def key_id(self) -> str:
        """A short public fingerprint: which key, without revealing it (rotation changes it)."""
        return hashlib.sha256(b"quanta-key-id:" + self.name.encode() + b":" + self.secret).hexdigest()[:16]


def mesh_key(name: str, state_dir: Path | None) -> MeshKey:
    """The ``mask`` or ``receipt`` key: from its environment variable, else the workspace key file."""
    variable = ENVIRONMENT[name]
    value = os.environ.get(variable, "")
    if value:
        if len(value) < 16:
            raise MeshKeyError(
                f"{variable} is too short ({len(value)} characters)",
                hint=f"use at least 16 random characters, e.g. {variable}=$(openssl rand -hex 32)",
            )
        return MeshKey(name, value.encode(), f"${variable}")
    if state_dir is None:
        raise MeshKeyError(
            f"no {name} key: there is no workspace to keep it in",
            hint=f"set {variable} (e.g. {variable}=$(openssl rand -hex 32))",
        )
    return MeshKey(name, _key_file(state_dir / KEY_DIR, name), str(state_dir / KEY_DIR / f"{name}.key"))


def _key_file(folder: Path, name: str) -> bytes:
    path = folder / f"{name}.key"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        ignore = folder / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# mesh secrets: never commit them\n*\n", encoding="utf-8")
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(secrets.token_hex(32) + "\n")
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise MeshKeyError(
            f"cannot read or create the {name} key {path}: {exc.strerror}",
            hint=f"check the folder's permissions, or set {ENVIRONMENT[name]}",
        ) from None
    if len(text) < 16:
        raise MeshKeyError(
            f"the {name} key file {path} is empty or too short",
            hint="delete it to create a new one (see docs/governance.md, 'Rotating the keys')",
        )
    return text.encode()
