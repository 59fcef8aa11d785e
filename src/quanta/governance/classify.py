"""Classification on landing: find the columns of new data that hold personal, financial or health data.

Value detectors test a deterministic sample of every text column; name rules read the column name and,
where the name alone is ambiguous, confirm it against the sampled values. One detection per column.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

CONFIDENTIAL = "confidential"
RESTRICTED = "restricted"

# A column name that says "phone" makes ambiguous values count: the share they must reach is halved.
_HINT_RELIEF = 0.5


@dataclass(frozen=True)
class Detection:
    """A column that looks sensitive: what was found, the suggested tag and level, and why."""

    column: str
    tag: str
    kind: str
    level: str
    confidence: float
    evidence: str


def luhn_valid(digits: str) -> bool:
    """True when ``digits`` (spaces and dashes ignored) pass the Luhn checksum of payment cards."""
    plain = digits.replace(" ", "").replace("-", "")
    if len(plain) < 2 or not (plain.isascii() and plain.isdigit()):
        return False
    reverse = plain[::-1]
    total = sum(map(int, reverse[0::2])) + sum(_LUHN_DOUBLED[char] for char in reverse[1::2])
    return total % 10 == 0


_LUHN_DOUBLED = {str(d): d * 2 - 9 if d > 4 else d * 2 for d in range(10)}

_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", re.ASCII)


def iban_valid(text: str) -> bool:
    """True when ``text`` (spaces ignored, any case) is an IBAN that passes the ISO 13616 mod-97 check."""
    compact = text.replace(" ", "").upper()
    if not _IBAN.fullmatch(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int(rearranged.translate(_IBAN_LETTERS)) % 97 == 1


# ISO 13616 reads A as 10, B as 11, ... Z as 35.
_IBAN_LETTERS = {ord(letter): str(value) for value, letter in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 10)}


_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,63}", re.ASCII)
_PHONE = re.compile(r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{1,8}(?:[ .-]\d{1,8}){0,6}", re.ASCII)
_E164 = re.compile(r"\+[1-9]\d{6,14}", re.ASCII)
_BARE_PHONE = re.compile(r"\+?\d{7,15}", re.ASCII)
_IPV4_SHAPE = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}", re.ASCII)
_SSN_SHAPE = re.compile(r"\d{3}-\d{2}-\d{4}", re.ASCII)
_DATE_TEXT = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})",
    re.ASCII,
)
# Each step takes exactly one digit, so a failed match costs linear time, not a backtracking blow-up.
_CARD = re.compile(r"[1-9](?:[ -]?\d){12,18}", re.ASCII)
_SSN = re.compile(r"(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}", re.ASCII)
_SSN_LOOSE = re.compile(r"(?!000|666|9\d\d)\d{3}([- ]?)(?!00)\d{2}\1(?!0000)\d{4}", re.ASCII)
# UK NINO: prefix letters D, F, I, Q, U, V are never issued (nor O second), nor these pairs.
_NINO = re.compile(r"(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]", re.ASCII)
_BSN = re.compile(r"\d{9}|\d{4}\.\d{2}\.\d{3}", re.ASCII)
_ICD10 = re.compile(r"[A-Z]\d[0-9A-Z](?:\.?[0-9A-Z]{1,4})?", re.ASCII)
_POSTCODE = re.compile(
    r"\d{5}(?:-\d{4})?"  # US ZIP and ZIP+4, also most of Europe
    r"|\d{4}(?: ?[A-Z]{2})?"  # NL "1234 AB", BE, AT, CH, DK
    r"|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}"  # UK
    r"|[A-Z]\d[A-Z] ?\d[A-Z]\d"  # Canada
    r"|\d{3}-\d{4}",  # Japan
    re.ASCII,
)
_BLOOD_TYPE = re.compile(r"(?:A|B|AB|O) ?(?:[+-]|POS|NEG|POSITIVE|NEGATIVE)?", re.ASCII)
_HOUSE_NUMBER = re.compile(r"\b\d+[A-Za-z]?\b")
_WORD = re.compile(r"\b[^\W\d_]{3,}\b")
_NAME_WORD = re.compile(r"[^\W\d_]+(?:['\u2019.-][^\W\d_]*)*")
_NAME_PARTICLES = frozenset({"van", "von", "de", "der", "den", "da", "di", "du", "la", "le", "bin", "al"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def _is_email(value: str) -> bool:
    return "@" in value and _EMAIL.fullmatch(value) is not None


def _is_phone(value: str) -> bool:
    if _E164.fullmatch(value):
        return True
    # Dates, dotted quads and the SSN layout (even an unissued number) fit the pattern but are not phones.
    if not _PHONE.fullmatch(value) or any(
        shape.fullmatch(value) for shape in (_DATE_TEXT, _IPV4_SHAPE, _SSN_SHAPE)
    ):
        return False
    if not 7 <= sum(char.isdigit() for char in value) <= 15:
        return False
    separators = [char for char in value if char in " .-()"]
    # A lone dot is a decimal number, not a phone number.
    return value.startswith("+") or len(separators) > (1 if set(separators) == {"."} else 0)


def _is_phone_loose(value: str) -> bool:
    return _is_phone(value) or _BARE_PHONE.fullmatch(value) is not None


def _is_card(value: str) -> bool:
    return _CARD.fullmatch(value) is not None and luhn_valid(value)


def _is_iban(value: str) -> bool:
    return len(value) >= 15 and value[:2].isalpha() and iban_valid(value)


def _bsn_valid(value: str) -> bool:
    """Dutch BSN: nine digits passing the 11-proof (weights 9..2, the last digit counts -1)."""
    if not _BSN.fullmatch(value):
        return False
    digits = [int(char) for char in value.replace(".", "")]
    checksum = sum(d * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - digits[8]
    return any(digits) and checksum % 11 == 0


def _is_national_id(value: str) -> bool:
    if _SSN.fullmatch(value) or _bsn_valid(value):
        return True
    return 9 <= len(value) <= 13 and _NINO.fullmatch(value.replace(" ", "").upper()) is not None


def _is_national_id_loose(value: str) -> bool:
    return _is_national_id(value) or _SSN_LOOSE.fullmatch(value) is not None


def _is_ip(value: str) -> bool:
    if len(value) > 45 or (":" not in value and value.count(".") != 3):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_date_text(value: str) -> bool:
    return _DATE_TEXT.fullmatch(value) is not None


def _is_person_name(value: str) -> bool:
    """Two to five words, at least two of them capitalised (not all caps), the rest name particles."""
    words = value.split()
    if not 2 <= len(words) <= 5 or not all(_NAME_WORD.fullmatch(word) for word in words):
        return False
    capitalised = sum(1 for word in words if word[0].isupper() and not word[1:].isupper())
    particles = sum(1 for word in words if word in _NAME_PARTICLES)
    return capitalised >= 2 and capitalised + particles == len(words)


def _is_street_address(value: str) -> bool:
    return _HOUSE_NUMBER.search(value) is not None and _WORD.search(value) is not None


def _is_postcode(value: str) -> bool:
    return _POSTCODE.fullmatch(value.upper()) is not None


def _is_icd10(value: str) -> bool:
    return _ICD10.fullmatch(value.upper()) is not None


def _is_blood_type(value: str) -> bool:
    return _BLOOD_TYPE.fullmatch(value.upper()) is not None


@dataclass(frozen=True)
class _ValueDetector:
    """A kind of sensitive value recognised from the values themselves."""

    kind: str
    tag: str
    level: str
    noun: str
    matches: Callable[[str], bool]
    hints: tuple[str, ...] = ()
    lenient: Callable[[str], bool] | None = None  # used instead of ``matches`` when the name hints


@dataclass(frozen=True)
class _NameRule:
    """A kind of sensitive column recognised from its name, optionally confirmed by its values."""

    kind: str
    tag: str
    level: str
    names: tuple[str, ...]
    label: str
    noun: str = ""
    looks_like: Callable[[str], bool] | None = None
    values_decide: bool = False  # the name is ambiguous: flag only when the values confirm it
    dates_confirm: bool = False  # a date or timestamp column confirms it without looking at values
    exact_only: bool = False  # the whole name, bar a short table prefix such as TPC-H's ``c_``
    not_after: frozenset[str] = frozenset()

    def detection(self, column: str, confidence: float, evidence: str) -> Detection:
        return Detection(column, self.tag, self.kind, self.level, confidence, evidence)


# Order breaks ties between equally good matches: the more specific formats come first.
_VALUE_DETECTORS: tuple[_ValueDetector, ...] = (
    _ValueDetector(
        "card_number", "financial", RESTRICTED, "Luhn-valid payment card numbers", _is_card,
        ("card_number", "card_no", "cc_number", "credit_card", "pan"),
    ),
    _ValueDetector("iban", "financial", RESTRICTED, "IBANs with a valid mod-97 check", _is_iban, ("iban",)),
    _ValueDetector(
        "national_id", "pii", RESTRICTED, "national identifiers (US SSN, UK NINO or Dutch BSN)",
        _is_national_id, ("ssn", "nino", "bsn", "national_id", "social_security_number"),
        _is_national_id_loose,
    ),
    _ValueDetector(
        "email", "pii", CONFIDENTIAL, "e-mail addresses", _is_email, ("email", "mail", "email_address"),
    ),
    _ValueDetector(
        "ip_address", "pii", CONFIDENTIAL, "IP addresses", _is_ip, ("ip", "ip_address", "ip_addr"),
    ),
    _ValueDetector(
        "phone", "pii", CONFIDENTIAL, "phone numbers", _is_phone,
        ("phone", "phone_number", "telephone", "tel", "mobile", "fax"), _is_phone_loose,
    ),
)  # fmt: skip

_NOT_POSTAL = frozenset({"email", "mail", "ip", "mac", "wallet", "web", "url", "host", "server", "contract"})

_NAME_RULES: tuple[_NameRule, ...] = (
    _NameRule(
        "date_of_birth", "pii", CONFIDENTIAL, ("dob", "birth_date", "date_of_birth", "birthday", "birthdate"),
        "a date of birth", "dates", _is_date_text, values_decide=True, dates_confirm=True,
    ),
    _NameRule(
        "person_name", "pii", CONFIDENTIAL,
        ("first_name", "last_name", "full_name", "surname", "given_name", "family_name", "customer_name"),
        "a person's name",
    ),
    _NameRule(
        "person_name", "pii", CONFIDENTIAL, ("name",), "a person's name", "person names", _is_person_name,
        values_decide=True, exact_only=True,
    ),
    _NameRule(
        "address", "pii", CONFIDENTIAL, ("address", "street", "street_address", "address_line"),
        "an address", "street addresses", _is_street_address, not_after=_NOT_POSTAL,
    ),
    _NameRule(
        "address", "pii", CONFIDENTIAL, ("postcode", "post_code", "postal_code", "zip_code"),
        "a postcode", "postcodes", _is_postcode,
    ),
    _NameRule(
        "address", "pii", CONFIDENTIAL, ("zip",), "a postcode", "postcodes", _is_postcode,
        values_decide=True,
    ),
    _NameRule(
        "diagnosis", "health", RESTRICTED, ("icd10", "icd_10", "icd10_code", "icd_10_code", "icd_code"),
        "an ICD-10 diagnosis code", "ICD-10 codes", _is_icd10, values_decide=True,
    ),
    _NameRule("diagnosis", "health", RESTRICTED, ("diagnosis", "diagnoses"), "a diagnosis"),
    _NameRule(
        "blood_type", "health", RESTRICTED, ("blood_type", "blood_group"), "a blood type", "blood types",
        _is_blood_type,
    ),
    _NameRule("medication", "health", RESTRICTED, ("medication", "medications"), "a medication"),
)  # fmt: skip


def detect(table: pa.Table, *, sample_rows: int = 1000, threshold: float = 0.8) -> list[Detection]:
    """Find the sensitive columns of ``table`` from an evenly strided sample of up to ``sample_rows`` rows.

    A value detector flags a column when at least ``threshold`` of its sampled non-blank values match.
    """
    if sample_rows < 1:
        raise ValueError(f"sample_rows must be at least 1, got {sample_rows}")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be a share in (0, 1], got {threshold}")
    step = max(1, math.ceil(table.num_rows / sample_rows))
    indices = pa.array(range(0, table.num_rows, step), type=pa.int64())
    found = []
    for column, data in zip(table.column_names, table.columns, strict=True):
        values = _sample_text(data, indices) if _is_text(data.type) else None
        detection = _classify(column, data.type, values, threshold)
        if detection is not None:
            found.append(detection)
    return found


def _classify(
    column: str, dtype: pa.DataType, values: list[str] | None, threshold: float
) -> Detection | None:
    tokens = _name_tokens(column)
    if values:
        detection = _detect_by_values(column, tokens, values, threshold)
        if detection is not None:
            return detection
    if pa.types.is_boolean(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return None  # `has_address` or `medication_cost`-like measures are not the thing itself
    for rule in _NAME_RULES:
        if any(_name_is(tokens, name, rule.exact_only, rule.not_after) for name in rule.names):
            detection = _judge(rule, column, dtype, values, threshold)
            if detection is not None:
                return detection
    return None


def _detect_by_values(
    column: str, tokens: tuple[str, ...], values: list[str], threshold: float
) -> Detection | None:
    best: tuple[float, int, _ValueDetector, bool] | None = None
    for detector in _VALUE_DETECTORS:
        hinted = any(_name_is(tokens, hint) for hint in detector.hints)
        check = detector.lenient if hinted and detector.lenient else detector.matches
        matched = _count_matches(values, check, threshold * _HINT_RELIEF if hinted else threshold)
        if matched is not None and (best is None or matched / len(values) > best[0]):
            best = (matched / len(values), matched, detector, hinted)
    if best is None:
        return None
    share, matched, detector, hinted = best
    evidence = f"{matched} of {len(values)} sampled values are {detector.noun}"
    if hinted:
        evidence += f", and the column name suggests {detector.noun}"
    return Detection(column, detector.tag, detector.kind, detector.level, share, evidence)


def _judge(
    rule: _NameRule, column: str, dtype: pa.DataType, values: list[str] | None, threshold: float
) -> Detection | None:
    named = f"column name '{column}' denotes {rule.label}"
    if rule.values_decide:
        if rule.dates_confirm and (pa.types.is_date(dtype) or pa.types.is_timestamp(dtype)):
            return rule.detection(column, 1.0, f"{named} and the column holds {dtype} values")
        if not values or rule.looks_like is None:
            return None
        matched = _count_matches(values, rule.looks_like, threshold)
        if matched is None:
            return None
        evidence = f"{named}, and {matched} of {len(values)} sampled values look like {rule.noun}"
        return rule.detection(column, matched / len(values), evidence)
    evidence = f"{named}; decided by the name alone"
    if values and rule.looks_like is not None:
        matched = sum(1 for value in values if rule.looks_like(value))
        evidence += f" ({matched} of {len(values)} sampled values look like {rule.noun})"
    return rule.detection(column, 1.0, evidence)


def _count_matches(values: list[str], check: Callable[[str], bool], threshold: float) -> int | None:
    """How many values pass ``check``, or None as soon as ``threshold`` is out of reach."""
    # The epsilon keeps 0.7 * 10 from rounding up to 8 needed matches.
    allowed_misses = len(values) - math.ceil(threshold * len(values) - 1e-9)
    matched = misses = 0
    for value in values:
        if check(value):
            matched += 1
        else:
            misses += 1
            if misses > allowed_misses:
                return None
    return matched


def _name_tokens(column: str) -> tuple[str, ...]:
    """``customerEmail``, ``Customer Email`` and ``customer_email`` all become ``(customer, email)``."""
    return tuple(token for token in _NOT_ALNUM.split(_CAMEL.sub("_", column).lower()) if token)


def _name_is(
    tokens: tuple[str, ...], name: str, exact_only: bool = False, not_after: frozenset[str] = frozenset()
) -> bool:
    """True when the column name ends with ``name``, word by word: ``billing_zip_code`` is a ``zip_code``."""
    wanted = tuple(name.split("_"))
    if tokens[-len(wanted) :] != wanted:
        return False
    before = tokens[: -len(wanted)]
    if exact_only:
        return not before or (len(before) == 1 and len(before[0]) <= 2)
    return not before or before[-1] not in not_after


def _is_text(dtype: pa.DataType) -> bool:
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    return bool(
        pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_string_view(dtype)
    )


def _sample_text(data: pa.ChunkedArray, indices: pa.Array) -> list[str]:
    """The sampled values, stripped; nulls and blanks carry no evidence either way and are dropped."""
    stripped = (value.strip() for value in data.take(indices).to_pylist() if value is not None)
    return [value for value in stripped if value]
