import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deedbox.convex.ids import decode_id, encode_id, table_number_of
from tests.support.convex_rules import decode_id as reference_decode
from tests.support.snapshots import id_table_number, make_id

numbers = st.integers(min_value=1, max_value=2**32 - 1)
internals = st.binary(min_size=16, max_size=16)


@settings(deadline=None)  # shared CI machines: no per-example timing
@given(numbers, internals)
def test_round_trip_and_cross_check_with_second_implementation(number, internal):
    doc_id = encode_id(number, internal)
    assert doc_id == make_id(number, internal)
    assert decode_id(doc_id) == (number, internal)
    assert table_number_of(doc_id) == number == id_table_number(doc_id) == reference_decode(doc_id)


@pytest.mark.parametrize("number, length", [(1, 31), (127, 31), (128, 32), (10001, 32), (2**21, 36)])
def test_known_vectors(number, length):
    internal = bytes(range(16))
    doc_id = encode_id(number, internal)
    assert len(doc_id) == length
    assert doc_id == make_id(number, internal)


def test_a_fixed_vector_does_not_drift():
    # computed once by both implementations; pins the alphabet, VInt and footer byte order
    assert encode_id(10001, bytes(range(16))) == "j57000820c20a1g7104gm2rc1m70ynr8"
    assert encode_id(1, bytes(16)) == "0400000000000000000000000000248"  # 0x01 -> bits 00000 001.. -> "0", "4"


@pytest.mark.parametrize("bad", ["", "abc", "j57" + "0" * 29, "I" * 32, 123])
def test_malformed_ids_raise(bad):
    with pytest.raises(ValueError):
        decode_id(bad)


def test_a_flipped_character_fails_the_footer():
    doc_id = encode_id(10001, bytes(range(16)))
    flipped = doc_id[:10] + ("0" if doc_id[10] != "0" else "1") + doc_id[11:]
    with pytest.raises(ValueError, match="footer|non-canonical"):
        decode_id(flipped)


@settings(deadline=None)
@given(st.binary(max_size=40))
def test_closed_form_fletcher_matches_the_running_sums(data):
    from deedbox.convex.ids import _fletcher16
    c0 = c1 = 0
    for b in data:
        c0 = (c0 + b) % 256
        c1 = (c1 + c0) % 256
    assert _fletcher16(data) == (c1 << 8) | c0


@pytest.mark.convex_rule("id-format")
@pytest.mark.parametrize("bad", [
    "0" * 31,  # table number 0 (TableNumber is nonzero: crates/common/src/types/table_name.rs)
    "g400000000000000000000000000108j",  # table 1 as the non-minimal VInt 81 00 (id_v6.rs re-encodes)
])
def test_ids_the_backend_rejects_are_rejected(bad):
    from tests.support.convex_rules import decode_id as reference_decode

    with pytest.raises(ValueError):
        decode_id(bad)
    with pytest.raises(ValueError):
        reference_decode(bad)


def test_a_table_number_above_u32_is_rejected():
    from deedbox.convex.ids import _read_vint

    with pytest.raises(ValueError):
        _read_vint(bytes([0xFF, 0xFF, 0xFF, 0xFF, 0x7F]) + bytes(18))  # 2**35 - 1
    with pytest.raises(ValueError):
        encode_id(0, bytes(16))
