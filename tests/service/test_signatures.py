import pytest

from service.signatures import sign, verify

# GitHub's documented test values ("Validating webhook deliveries").
GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_PAYLOAD = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_github_documented_test_vector() -> None:
    assert sign(GITHUB_PAYLOAD, GITHUB_SECRET) == GITHUB_SIGNATURE
    assert verify(GITHUB_PAYLOAD, GITHUB_SIGNATURE, [GITHUB_SECRET])


def test_any_rotated_secret_is_accepted() -> None:
    header = sign(b"{}", "old")
    assert verify(b"{}", header, ["new", "old"])
    assert not verify(b"{}", header, ["new"])


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha1=757107ea0eb2509fc211221cce984b8a37570b6d",
        "sha256=",
        "sha256=zz",
        "sha256=" + "0" * 64,
        GITHUB_SIGNATURE.upper(),
    ],
)
def test_bad_headers_are_rejected(header: str | None) -> None:
    assert not verify(GITHUB_PAYLOAD, header, [GITHUB_SECRET])


def test_one_changed_byte_is_rejected() -> None:
    assert not verify(b"Hello, World?", GITHUB_SIGNATURE, [GITHUB_SECRET])
