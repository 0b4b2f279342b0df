"""Chat links: signed for one case, expiring, refused with the reason when anything is off."""

import time
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from pydantic import SecretStr

from ingress.chat_links import ChatLinks, LinkProblem, LinkRefused
from service.settings import Settings

PUBLIC = "https://support.example.com"


def links(valid_for: timedelta = timedelta(hours=24), secret: str = "s" * 32) -> ChatLinks:
    return ChatLinks(secret, PUBLIC, valid_for)


def token_of(url: str) -> str:
    return parse_qs(urlparse(url).query)["t"][0]


def refused(check, *args) -> LinkProblem:
    with pytest.raises(LinkRefused) as err:
        check(*args)
    return err.value.problem


def test_a_link_opens_its_own_case():
    url = links().url("northwind-telecom-sms-0123456789ab")
    assert url.startswith(PUBLIC + "/chat/northwind-telecom-sms-0123456789ab?t=")
    links().check("northwind-telecom-sms-0123456789ab", token_of(url))


def test_a_changed_token_or_another_key_is_tampered():
    token = token_of(links().url("case-1"))
    for forged in (token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1], token + "x", ""):
        assert refused(links().check, "case-1", forged) is LinkProblem.TAMPERED
    assert refused(links(secret="other" * 8).check, "case-1", token) is LinkProblem.TAMPERED


def test_a_link_for_another_case_is_refused():
    token = token_of(links().url("case-1"))
    assert refused(links().check, "case-2", token) is LinkProblem.OTHER_CASE


def test_an_old_link_has_expired(monkeypatch: pytest.MonkeyPatch):
    made = time.time() - 3 * 3600
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: made)
    token = token_of(links(timedelta(hours=2)).url("case-1"))
    monkeypatch.undo()
    assert refused(links(timedelta(hours=2)).check, "case-1", token) is LinkProblem.EXPIRED
    links(timedelta(hours=4)).check("case-1", token)  # a longer validity still takes it


def test_the_worker_and_the_ingress_derive_the_same_key(tmp_path):
    settings = Settings(data_dir=tmp_path, public_url=PUBLIC)  # no token: the dev secret
    url = ChatLinks.from_settings(settings).url("case-1")
    ChatLinks.from_settings(Settings(data_dir=tmp_path, public_url=PUBLIC)).check(
        "case-1", token_of(url)
    )
    configured = Settings(data_dir=tmp_path, chat_link_secret=SecretStr("c" * 40))
    other = ChatLinks.from_settings(configured)
    assert refused(other.check, "case-1", token_of(url)) is LinkProblem.TAMPERED
