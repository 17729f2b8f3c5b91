"""The documents a person accepts on the member pages: the user agreement and privacy notice
(at sign-in) and 入会须知 (when applying to join), each a page of its own with its version."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, MediaType, get
from litestar.response import Template

from cardsvc.kernel.errors import NotFound
from cardsvc.membership.service import PRIVACY_VERSION
from cardsvc.pages.errors import page_exception_handlers
from cardsvc.pages.member.common import AREA


@dataclass(frozen=True, slots=True)
class Document:
    key: str  # stored with the acceptance (cardsvc.memberauth.consent)
    title_zh: str
    title_en: str
    version: str

    @property
    def url(self) -> str:
        return f"{AREA}/terms/{self.key}"


AGREEMENT = Document("agreement", "用户协议", "User agreement", "2026-12")
PRIVACY = Document("privacy", "隐私政策", "Privacy notice", PRIVACY_VERSION)
JOIN_TERMS = Document("join_terms", "入会须知", "Before you join", "2026-12")
DOCUMENTS = {d.key: d for d in (AGREEMENT, PRIVACY, JOIN_TERMS)}
SIGN_IN_DOCUMENTS = (AGREEMENT, PRIVACY)


class MemberTermsController(Controller):
    path = AREA + "/terms"
    include_in_schema = False
    exception_handlers = page_exception_handlers

    @get("/{key:str}", media_type=MediaType.HTML)
    async def document(self, key: str) -> Template:
        doc = DOCUMENTS.get(key)
        if doc is None:
            raise NotFound("not_found", "没有这份文件", "No such document")
        # csrf_token: none (the page is read before signing in).
        return Template(f"m/terms_{doc.key}.html", context={"doc": doc, "csrf_token": ""})
