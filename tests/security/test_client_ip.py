"""Client addresses are normalised before they become rate-limit keys, and IPv6 counts by its /64."""

from __future__ import annotations

import pytest

from config.client_ip import parse_ip, rate_bucket


@pytest.mark.parametrize(
    "raw, address",
    [
        ("198.51.100.7", "198.51.100.7"),
        ("198.51.100.7:5678", "198.51.100.7"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("[::ffff:198.51.100.7]:443", "198.51.100.7"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
    ],
)
def test_an_address_is_normalised(raw, address):
    assert str(parse_ip(raw)) == address


@pytest.mark.parametrize("raw", ["", "unknown", "1.2.3", "1.2.3.4.5", "[::1", "::g"])
def test_what_is_not_an_address_is_none(raw):
    assert parse_ip(raw) is None


def test_an_ipv6_address_counts_by_its_64():
    assert rate_bucket("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64"


def test_two_addresses_of_one_64_share_a_bucket():
    assert rate_bucket("2001:db8:1:2::1") == rate_bucket("[2001:db8:1:2:ffff::9]:80")


def test_an_ipv4_mapped_address_counts_as_its_ipv4_address():
    assert rate_bucket("::ffff:198.51.100.7") == rate_bucket("198.51.100.7")
