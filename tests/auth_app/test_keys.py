"""The API key format: prefix, lookup id, 128+ bits of secret, checksum."""

import math
import re

from auth_app import keys


def test_generated_key_has_the_documented_shape():
    lookup_id, token = keys.generate()
    assert re.fullmatch(r"wag_[A-Za-z0-9_]+", token)
    assert token.startswith(f"wag_{lookup_id}_")
    assert len(lookup_id) == keys.LOOKUP_LENGTH
    assert len(token) == len("wag_") + keys.LOOKUP_LENGTH + 1 + keys.SECRET_LENGTH + 6


def test_secret_carries_at_least_128_bits():
    assert keys.SECRET_LENGTH * math.log2(62) >= 128


def test_keys_are_unique():
    tokens = {keys.generate()[1] for _ in range(500)}
    assert len(tokens) == 500


def test_parse_accepts_a_generated_key():
    lookup_id, token = keys.generate()
    parsed = keys.parse(token)
    assert parsed is not None
    assert parsed.lookup_id == lookup_id


def test_checksum_catches_any_single_character_change():
    _, token = keys.generate()
    for position in range(len("wag_"), len(token)):
        if token[position] == "_":
            continue
        replacement = "A" if token[position] != "A" else "B"
        tampered = token[:position] + replacement + token[position + 1 :]
        assert keys.parse(tampered) is None, position


def test_parse_rejects_wrong_shapes():
    _, token = keys.generate()
    for bad in ["", "wag_", token + "x", token[:-1], token.replace("wag_", "wak_"), token.upper()]:
        assert keys.parse(bad) is None


def test_hash_is_sha256_of_the_whole_key():
    _, token = keys.generate()
    stored = keys.hash_key(token)
    assert re.fullmatch(r"[0-9a-f]{64}", stored)
    assert keys.matches(token, stored)
    assert not keys.matches(keys.generate()[1], stored)
