"""Classification on landing: value detectors, name rules, thresholds, and no flags on ordinary data."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import pyarrow as pa
import pytest

from quanta.governance.classify import Detection, detect, iban_valid, luhn_valid


def _one(
    name: str,
    values: list[Any],
    dtype: pa.DataType | None = None,
    *,
    threshold: float = 0.8,
    sample_rows: int = 1000,
) -> Detection | None:
    """Classify a one-column table; at most one detection can come back."""
    found = detect(
        pa.table({name: pa.array(values, type=dtype)}), threshold=threshold, sample_rows=sample_rows
    )
    assert len(found) <= 1
    return found[0] if found else None


def _kind(name: str, values: list[Any], dtype: pa.DataType | None = None) -> str | None:
    detection = _one(name, values, dtype)
    return detection.kind if detection else None


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("4111 1111 1111 1111", True),
        ("4111 1111 1111 1112", False),  # one digit off
        ("5555-5555-5555-4444", True),
        ("5555-5555-5555-4445", False),
        ("378282246310005", True),
        ("378282246310006", False),
        ("79927398713", True),
        ("79927398710", False),
        ("", False),
        ("4111x1111", False),
    ],
)
def test_luhn(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("GB82 WEST 1234 5698 7654 32", True),
        ("GB82 WEST 1234 5698 7654 33", False),  # last digit altered
        ("GB28 WEST 1234 5698 7654 32", False),  # check digits swapped
        ("gb82west12345698765432", True),
        ("DE89370400440532013000", True),
        ("NL91ABNA0417164300", True),
        ("NL91ABNA0417164301", False),
        ("FR1420041010050500013M02606", True),
        ("GB82WEST", False),
        ("8282 WEST 1234 5698 7654 32", False),
    ],
)
def test_iban(text: str, valid: bool) -> None:
    assert iban_valid(text) is valid


VALUE_CASES = [
    ("email", ["john.doe@example.com", "a+tag@sub.example.co.uk", "x_y@mail.org"]),
    ("phone", ["25-989-741-2988", "+1 (555) 123-4567", "+442079460958", "020 7946 0958", "555.123.4567"]),
    ("card_number", ["4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "3782 822463 10005"]),
    ("iban", ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "NL91ABNA0417164300"]),
    ("national_id", ["123-45-6789", "078-05-1120"]),  # US SSN
    ("national_id", ["AB123456C", "ab 12 34 56 c"]),  # UK NINO
    ("national_id", ["111222333", "123456782"]),  # Dutch BSN, 11-proof
    ("ip_address", ["192.168.0.1", "10.0.0.255", "8.8.8.8"]),
    ("ip_address", ["2001:db8::1", "::1", "fe80::1ff:fe23:4567:890a"]),
]

NOT_SENSITIVE = [
    ["john@", "@example.com", "john.doe@example", "john doe@example.com"],  # broken e-mails
    ["4111 1111 1111 1112", "5555-5555-5555-4445", "378282246310006"],  # Luhn one digit off
    ["GB82 WEST 1234 5698 7654 33", "NL91ABNA0417164301"],  # mod-97 fails
    ["000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567", "123-45-0000"],  # invalid SSN ranges
    ["QQ123456C", "GB123456A", "AB123456E", "AO123456C"],  # invalid NINO prefixes and suffix
    ["123456789", "000000000"],  # BSN failing the 11-proof, all zeros
    ["256.1.1.1", "1.2.3", "10:30", "2001:db8:::1"],  # not IP addresses
    ["2024-01-15", "15.01.2024", "12345.67", "123", "1234567"],  # dates, decimals, short or bare numbers
]


@pytest.mark.parametrize(
    ("kind", "value"), [(kind, value) for kind, values in VALUE_CASES for value in values]
)
def test_value_detectors_find_each_sensitive_value(kind: str, value: str) -> None:
    assert _kind("value", [value] * 3) == kind


@pytest.mark.parametrize("value", [value for values in NOT_SENSITIVE for value in values])
def test_value_detectors_reject_each_lookalike(value: str) -> None:
    assert _one("value", [value] * 3) is None


@pytest.mark.parametrize(
    ("kind", "tag", "level"),
    [
        ("card_number", "financial", "restricted"),
        ("iban", "financial", "restricted"),
        ("national_id", "pii", "restricted"),
        ("email", "pii", "confidential"),
        ("phone", "pii", "confidential"),
        ("ip_address", "pii", "confidential"),
    ],
)
def test_tag_and_level_follow_the_kind(kind: str, tag: str, level: str) -> None:
    values = next(values for k, values in VALUE_CASES if k == kind)
    detection = _one("value", values)
    assert detection is not None
    assert (detection.kind, detection.tag, detection.level) == (kind, tag, level)


def test_evidence_counts_the_sample() -> None:
    detection = _one("contact", ["x@example.com"] * 47 + ["call me", "n/a", "later"])
    assert detection is not None
    assert detection.evidence == "47 of 50 sampled values are e-mail addresses"
    assert detection.confidence == pytest.approx(0.94)


@pytest.mark.parametrize(
    ("threshold", "flagged"),
    [(0.8, False), (0.6, False), (0.5, True), (0.3, True)],
)
def test_threshold_on_half_emails(threshold: float, flagged: bool) -> None:
    values = ["x@example.com", "not an address"] * 25
    assert (_one("contact", values, threshold=threshold) is not None) is flagged


@pytest.mark.parametrize(("matches", "threshold"), [(8, 0.8), (7, 0.7), (3, 0.3)])
def test_threshold_is_inclusive(matches: int, threshold: float) -> None:
    values = ["x@example.com"] * matches + ["nope"] * (10 - matches)
    assert _one("contact", values, threshold=threshold) is not None
    assert (
        _one("contact", ["x@example.com"] * (matches - 1) + ["nope"] * (11 - matches), threshold=threshold)
        is None
    )


def test_nulls_and_blanks_are_ignored() -> None:
    detection = _one("contact", ["x@example.com"] * 8 + [None] * 80 + ["", "  "] * 6)
    assert detection is not None
    assert detection.kind == "email"
    assert detection.confidence == 1.0
    assert detection.evidence.startswith("8 of 8 ")


def test_all_null_column_is_not_flagged() -> None:
    assert _one("contact", [None, None, None], pa.string()) is None


@pytest.mark.parametrize(
    ("column", "values", "kind"),
    [
        ("phone", ["5551234567", "0207946095", "n/a", "unknown"], "phone"),  # bare digits, half of them
        ("contact", ["5551234567", "0207946095", "n/a", "unknown"], None),
        ("customerEmail", ["x@example.com", "y@example.org", "n/a", "-"], "email"),
        ("ssn", ["123456789", "078051120"], "national_id"),  # SSN without dashes
        ("value", ["123456789", "078051120"], None),
    ],
)
def test_name_hints_relieve_ambiguous_values(column: str, values: list[str], kind: str | None) -> None:
    assert _kind(column, values) == kind


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["123-45-6789", "078-05-1120"], "national_id"),  # an SSN also has a phone's shape
        (["3782 822463 10005", "3714 496353 98431"], "card_number"),  # 15 digits also fit a phone
        (["192.168.0.1", "10.1.2.3"], "ip_address"),
    ],
)
def test_specific_formats_win_over_phone(values: list[str], kind: str) -> None:
    assert _kind("value", values) == kind


TPCH = 20


@pytest.mark.parametrize(
    ("column", "values", "dtype"),
    [
        ("o_comment", ["furiously regular deposits sleep carefully", "ironic packages nag"] * TPCH, None),
        ("o_clerk", [f"Clerk#{n:09d}" for n in range(951, 951 + TPCH)], None),
        ("c_name", [f"Customer#{n:09d}" for n in range(1, 1 + TPCH)], None),
        ("o_orderkey", [4111111111111111 + 10 * n for n in range(TPCH)], pa.int64()),
        ("o_orderkey", list(range(1, 1 + TPCH)), pa.int64()),
        ("l_shipmode", ["TRUCK", "AIR", "REG AIR", "MAIL", "SHIP"] * 4, None),
        ("o_totalprice", [decimal.Decimal("173665.47")] * TPCH, pa.decimal128(15, 2)),
        ("o_orderpriority", ["1-URGENT", "2-HIGH", "5-LOW"] * 5, None),
        ("o_orderdate", ["1996-01-02", "1995-12-01"] * 5, None),
        ("n_name", ["UNITED STATES", "UNITED KINGDOM", "SAUDI ARABIA"], None),
        ("p_name", ["goldenrod lavender spring chocolate lace"] * 3, None),
        ("comment", ["see ticket 12345678.90 and 2024-01-15"] * 3, None),
    ],
)
def test_ordinary_columns_are_not_flagged(column: str, values: list[Any], dtype: pa.DataType | None) -> None:
    assert _one(column, values, dtype) is None


def test_tpch_phone_is_a_phone() -> None:
    detection = _one("c_phone", ["25-989-741-2988", "13-761-547-5974", "27-147-574-9335"])
    assert detection is not None
    assert (detection.kind, detection.tag, detection.level) == ("phone", "pii", "confidential")
    assert detection.confidence == 1.0


def test_tpch_address_is_flagged_by_name_alone() -> None:
    detection = _one("c_address", ["IVhzIApeRb ot,c,E", "XSTf4,NCwDVaWNe6tEgvwfmRchLXak", "MG9kdTD2WBHm"])
    assert detection is not None
    assert (detection.kind, detection.tag, detection.confidence) == ("address", "pii", 1.0)
    assert "name alone" in detection.evidence
    assert "0 of 3 sampled values look like street addresses" in detection.evidence


DOB = [datetime.date(1985, 4, 12), datetime.date(1990, 1, 1)]


@pytest.mark.parametrize(
    ("column", "values", "dtype", "kind"),
    [
        ("dob", DOB, pa.date32(), "date_of_birth"),
        ("dateOfBirth", DOB, pa.date32(), "date_of_birth"),
        ("BirthDate", [datetime.datetime(1985, 4, 12)], pa.timestamp("us"), "date_of_birth"),
        ("birthday", ["1985-04-12", "12/04/1985"], None, "date_of_birth"),
        ("birth_date", ["unknown", "ask the client"], None, None),
        ("order_date", DOB, pa.date32(), None),
        ("first_name", ["John", "Mary"], None, "person_name"),
        ("LastName", ["Smith", "de Vries"], None, "person_name"),
        ("customer_name", ["Acme"], None, "person_name"),
        ("name", ["Jan van der Berg", "Mary-Jane O'Brien", "J. R. Tolkien"], None, "person_name"),
        ("c_name", ["Jan de Vries", "Mary Smith"], None, "person_name"),
        ("name", ["widget", "GADGET", "Customer#000000001"], None, None),
        ("name", ["de Luxe", "la Bamba"], None, None),  # one capitalised word is not a full name
        ("product_name", ["Apple Watch", "Surface Pro"], None, None),
        ("address", ["12 Baker Street", "Main St 5"], None, "address"),
        ("home_address", ["12 Baker Street"], None, "address"),
        ("street", ["Baker Street"], None, "address"),
        ("postcode", ["1234 AB", "SW1A 1AA"], None, "address"),
        ("billingZipCode", [12345, 90210], pa.int64(), "address"),
        ("zip", ["12345", "90210-1234"], None, "address"),
        ("zip", ["report.pdf", "photos.tar"], None, None),
        ("email_address", ["n/a", "none"], None, None),
        ("ip_address", ["unknown", "n/a"], None, None),
        ("has_address", [True, False], pa.bool_(), None),
        ("diagnosis", ["type 2 diabetes"], None, "diagnosis"),
        ("icd10", ["E11.9", "J45", "C4A.0", "u07.1"], None, "diagnosis"),
        ("ICD10Code", ["E119", "I10"], None, "diagnosis"),
        ("icd_10", ["diabetes", "asthma"], None, None),
        ("blood_type", ["A+", "O-", "AB+"], None, "blood_type"),
        ("medication", ["metformin 500 mg"], None, "medication"),
        ("medication_cost", [1.5, 2.0], pa.float64(), None),
    ],
)
def test_name_rules(column: str, values: list[Any], dtype: pa.DataType | None, kind: str | None) -> None:
    assert _kind(column, values, dtype) == kind


@pytest.mark.parametrize("column", ["diagnosis", "icd10", "blood_type", "medication"])
def test_health_columns_are_restricted(column: str) -> None:
    detection = _one(column, ["E11.9", "I10"] if column == "icd10" else ["A+", "O-"])
    assert detection is not None
    assert (detection.tag, detection.level) == ("health", "restricted")


def test_name_rule_confidence_is_the_confirmed_share() -> None:
    detection = _one("name", ["Mary Smith"] * 9 + ["widget"])
    assert detection is not None
    assert detection.confidence == pytest.approx(0.9)
    assert "9 of 10 sampled values look like person names" in detection.evidence


@pytest.mark.parametrize(
    "array",
    [
        pa.array(["x@example.com"] * 5, type=pa.large_string()),
        pa.array(["x@example.com"] * 5).dictionary_encode(),
        pa.chunked_array([["x@example.com"] * 2, ["y@example.com"] * 3]),
    ],
)
def test_string_like_types_are_sampled(array: pa.Array | pa.ChunkedArray) -> None:
    found = detect(pa.table({"contact": array}))
    assert [d.kind for d in found] == ["email"]


def test_sample_is_capped_and_strided() -> None:
    # E-mails only in the first tenth: a first-rows sample would see nothing else, a strided one sees 10%.
    values = ["x@example.com"] * 100 + ["plain text"] * 900
    assert _one("contact", values, sample_rows=100) is None
    detection = _one("contact", ["x@example.com"] * 1000, sample_rows=100)
    assert detection is not None
    assert detection.evidence.startswith("100 of 100 ")


def test_detect_reports_each_sensitive_column_once_in_table_order() -> None:
    table = pa.table(
        {
            "id": [1, 2],
            "email": ["a@example.com", "b@example.com"],
            "note": ["hello", "world"],
            "iban": ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000"],
        }
    )
    assert [(d.column, d.kind) for d in detect(table)] == [("email", "email"), ("iban", "iban")]
    assert detect(table) == detect(table)


@pytest.mark.parametrize(("sample_rows", "threshold"), [(0, 0.8), (10, 0.0), (10, 1.5)])
def test_bad_arguments_are_refused(sample_rows: int, threshold: float) -> None:
    with pytest.raises(ValueError, match=r"sample_rows|threshold"):
        detect(pa.table({"a": ["x"]}), sample_rows=sample_rows, threshold=threshold)
