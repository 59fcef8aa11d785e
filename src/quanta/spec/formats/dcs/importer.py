"""The DCS importer: the whole document (information, terms, servers, models, service levels) as ODCS."""

from __future__ import annotations

import re
from typing import Any

from quanta.errors import SpecError
from quanta.spec.contract import Contract
from quanta.spec.formats import Importer
from quanta.spec.formats.dcs.document import custom, describe
from quanta.spec.formats.dcs.fields import FieldReader
from quanta.spec.formats.dcs.odcs_schema import odcs_validator, server_fields
from quanta.spec.formats.dcs.service_levels import service_levels
from quanta.spec.formats.odcs import ensure_valid
from quanta.spec.standards import LATEST_ODCS
from quanta.spec.yamlsource import Document, JsonPath, dump_yaml, parse_yaml

_TOP_KEYS = {"dataContractSpecification", "id", "info", "servers", "terms", "models", "servicelevels"}
_TOP_KEYS |= {"tags", "links", "definitions"}
_ORDER: tuple[str, ...] = ("apiVersion", "kind", "id", "name", "version", "status", "description")
_ORDER += ("servers", "schema", "team", "slaProperties", "support", "tags", "customProperties")
_ORDER += ("authoritativeDefinitions",)


class DcsImporter(Importer):
    """Reads a Data Contract Specification document and writes it as an ODCS v3.2.0 contract."""

    name = "dcs"

    def import_text(self, text: str, source: str) -> str:
        return dump_yaml(to_odcs(parse_yaml(text, source)))


def to_odcs(doc: Document) -> dict[str, Any]:
    """The DCS document as ODCS data, validated against the official schema; every input problem at once."""
    reader = _Reader(doc)
    data = reader.contract()
    if reader.problems:
        raise SpecError(reader.problems, f"{doc.source} is not a valid Data Contract Specification document")
    ensure_valid(data, "odcs", LATEST_ODCS)
    Contract.model_validate(data)  # what Quanta itself must be able to read
    return {key: data[key] for key in _ORDER if key in data}


class _Reader(FieldReader):
    """The whole DCS document: contract information, terms, servers, models and service levels."""

    def contract(self) -> dict[str, Any]:
        data = self.doc.data
        if not isinstance(data, dict):
            got = "an empty file" if data is None else describe(data)
            self.fail((), f"expected a Data Contract Specification document (a YAML mapping), got {got}")
            return {}
        if "dataContractSpecification" not in data:
            self.fail(
                (),
                "not a Data Contract Specification document: 'dataContractSpecification' is missing",
                "add 'dataContractSpecification: 1.1.0' at the top, or import the file as 'odcs'",
            )
            return {}
        spec = str(data["dataContractSpecification"])
        if not re.match(r"^(0\.9|1)(\.\d+)*$", spec):
            self.fail(
                ("dataContractSpecification",), f"unsupported DCS version {spec!r}", "use 1.x (or 0.9.x)"
            )
        info = self.mapping(data.get("info"), ("info",), "contract information")
        out: dict[str, Any] = {"apiVersion": LATEST_ODCS, "kind": "DataContract"}
        out["id"] = self._required_text(data, ("id",))
        out["version"] = self._required_text(info, ("info", "version"))
        extras: dict[str, Any] = {"dataContractSpecification": spec}
        extras.update(self._info(info, out))
        extras.update(self._terms(data, out))
        self.models = self._model_fields(data)
        servers = self.mapping(data.get("servers"), ("servers",), "server name to server")
        out["servers"] = [self._server(name, s, ("servers", name)) for name, s in servers.items()]
        models = self.mapping(data.get("models"), ("models",), "model name to model")
        out["schema"] = [self._model(name, m, ("models", name)) for name, m in models.items()]
        slas, unknown = service_levels(self.mapping(data.get("servicelevels"), ("servicelevels",), "levels"))
        out["slaProperties"] = slas
        extras.update({f"servicelevels.{k}": v for k, v in unknown.items()})
        out["tags"] = self._tags(data.get("tags"), ("tags",))
        out["authoritativeDefinitions"] = self._links(data.get("links"), ("links",))
        extras.update({k: v for k, v in data.items() if k not in _TOP_KEYS})
        out["customProperties"] = custom(extras)
        return {k: v for k, v in out.items() if v not in (None, [], {})}

    def _required_text(self, data: dict[str, Any], path: JsonPath) -> str:
        value = data.get(str(path[-1]))
        if value is None or isinstance(value, (dict, list, bool)):
            self.fail(path if value is not None else path[:-1], f"missing required field '{path[-1]}'")
            return ""
        return str(value)

    def _info(self, info: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
        """Fill name, status, purpose, team and support from ``info``; returns what ODCS has no place for."""
        for key, target in (("title", "name"), ("status", "status")):
            if isinstance(info.get(key), str):
                out[target] = info[key]
        if isinstance(info.get("description"), str):
            out["description"] = {"purpose": info["description"]}
        if info.get("owner") is not None:
            out["team"] = {"name": str(info["owner"])}
        contact = self.mapping(info.get("contact"), ("info", "contact"), "contact details")
        out["support"] = _support(contact)
        known = {"title", "version", "description", "owner", "contact", "status"}
        extras = {k: v for k, v in info.items() if k not in known}
        extras.update({f"contact.{k}": v for k, v in contact.items() if k not in ("name", "url", "email")})
        return extras

    def _terms(self, data: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
        """Usage and limitations go to the description; billing, notice period, policies are returned."""
        terms = self.mapping(data.get("terms"), ("terms",), "terms of use")
        description = out.setdefault("description", {})
        for key in ("usage", "limitations"):
            if isinstance(terms.get(key), str):
                description[key] = terms[key]
        return {k: v for k, v in terms.items() if k not in ("usage", "limitations")}

    # --- servers --------------------------------------------------------------------------------

    def _server(self, name: str, raw: Any, path: JsonPath) -> dict[str, Any]:
        server = self.mapping(raw, path, "server settings")
        kind = server.get("type")
        if not isinstance(kind, str):
            self.fail(path, f"server '{name}' has no 'type'", "e.g. 'type: postgres'")
            return {}
        base: dict[str, Any] = {"server": str(name), "type": kind}
        base.update({k: server[k] for k in ("description", "environment") if isinstance(server.get(k), str)})
        roles = server.get("roles") or []
        if isinstance(roles, list) and roles:
            base["roles"] = [_role(r) for r in roles if isinstance(r, dict) and r.get("name")]
        rest = {k: v for k, v in server.items() if k not in ("type", "description", "environment", "roles")}
        result = _server_as(base, kind, rest)
        # ODCS lacks this server type, or the DCS server lacks a field ODCS requires for it.
        if not odcs_validator("Server").is_valid(result):
            result = _server_as({**base, "type": "custom"}, "custom", {**rest, "serverType": kind})
        self.check(result, "Server", path, server)
        return result


def _support(contact: dict[str, Any]) -> list[dict[str, Any]]:
    name = contact.get("name")
    items: list[dict[str, Any]] = []
    if contact.get("email"):
        items.append({"channel": str(name or "email"), "tool": "email", "url": f"mailto:{contact['email']}"})
    if contact.get("url"):
        items.append({"channel": str(name or "web"), "url": str(contact["url"])})
    if name and not items:
        items.append({"channel": str(name)})
    return items


def _role(raw: dict[str, Any]) -> dict[str, Any]:
    role = {"role": str(raw["name"])}
    if isinstance(raw.get("description"), str):
        role["description"] = raw["description"]
    extras = {k: v for k, v in raw.items() if k not in ("name", "description")}
    return {**role, "customProperties": custom(extras)} if extras else role


def _server_as(base: dict[str, Any], kind: str, rest: dict[str, Any]) -> dict[str, Any]:
    allowed = server_fields(kind) or frozenset()
    server = {**base, **{k: v for k, v in rest.items() if k in allowed}}
    extras = {k: v for k, v in rest.items() if k not in allowed}
    if extras:
        server["customProperties"] = custom(extras)
    return server
