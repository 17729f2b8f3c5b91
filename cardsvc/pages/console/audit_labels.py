"""The audit log in words: an entry's action, object and details as a person reads them.

Entries store machine names (``service.request_info``, ``{"dry_run": true}``): the page shows
the object and verb of the action, the object type, and each detail it has a word for; the
machine form stays in the API (``/api/v1/audit``) for tools.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from cardsvc.pages.i18n import Lang, pick
from merchants.kinds import CATEGORY_LABELS_EN, CATEGORY_LABELS_ZH, MerchantCategory

Words = tuple[str, str]

OBJECTS: dict[str, Words] = {
    "member": ("会员", "Member"),
    "membership": ("入会", "Membership"),
    "join_application": ("入会申请", "Application"),
    "transfer_request": ("转会申请", "Transfer request"),
    "hardship": ("困难职工档案", "Hardship record"),
    "hardship_record": ("困难职工档案", "Hardship record"),
    "service": ("服务申请", "Service request"),
    "service_request": ("服务申请", "Service request"),
    "merchant": ("商户", "Merchant"),
    "merchants": ("商户", "Merchants"),
    "store": ("门店", "Store"),
    "terminal": ("收银终端", "Terminal"),
    "program": ("普惠项目", "Programme"),
    "programme": ("普惠项目", "Programme"),
    "org": ("组织", "Org"),
    "staff": ("工作人员", "Staff"),
    "roster": ("名册", "Roster"),
    "job": ("后台任务", "Background job"),
    "invite": ("入会邀请", "Invitation"),
    "card": ("会员卡", "Card"),
    "privacy": ("个人信息", "Personal data"),
    "data_key": ("数据加密密钥", "Data key"),
    "signing_key": ("签名密钥", "Signing key"),
    "redemption": ("核销", "Redemption"),
    "bill": ("账单", "Bill"),
    "founding": ("建会申请", "Founding application"),
    "founding_application": ("建会申请", "Founding application"),
}
VERBS: dict[str, Words] = {
    "create": ("新建", "created"),
    "update": ("修改", "updated"),
    "read": ("查看", "read"),
    "list": ("查询", "listed"),
    "apply": ("申请", "applied"),
    "approve": ("批准", "approved"),
    "reject": ("不予批准", "rejected"),
    "revoke": ("撤销", "revoked"),
    "expire": ("到期失效", "expired"),
    "review": ("复核", "reviewed"),
    "unmask": ("查看完整身份信息", "unmasked"),
    "lookup": ("精确查找", "looked up"),
    "erase": ("删除个人信息", "erased"),
    "export": ("导出", "exported"),
    "privacy_export": ("导出本人数据", "exported personal data"),
    "leave": ("离会", "left"),
    "status": ("变更状态", "status changed"),
    "transfer": ("转会", "transferred"),
    "transfer_reject": ("拒绝转会", "transfer refused"),
    "publish": ("发布", "published"),
    "pause": ("暂停", "paused"),
    "resume": ("恢复", "resumed"),
    "end": ("结束", "ended"),
    "close": ("撤销", "closed"),
    "move": ("调整上级", "moved"),
    "login": ("登录", "signed in"),
    "logout": ("退出登录", "signed out"),
    "import": ("导入", "imported"),
    "region": ("修改地区", "region changed"),
    "accept": ("受理", "accepted"),
    "resolve": ("办结", "resolved"),
    "reopen": ("重新办理", "reopened"),
    "call": ("电话联系", "called"),
    "visit": ("上门走访", "visited"),
    "payment": ("发放帮扶", "paid"),
    "note": ("备注", "noted"),
    "request_info": ("请求补充材料", "asked for information"),
    "take_over": ("上级接办", "taken over"),
    "escalate": ("上报", "escalated"),
    "sla": ("调整办理时限", "time limit changed"),
    "sweep": ("超时检查", "overdue check"),
    "retention": ("到期清理", "retention clean-up"),
    "rotate": ("轮换", "rotated"),
    "issue_missing": ("补发", "issued"),
    "suspend": ("暂停", "suspended"),
    "terminate": ("终止合作", "terminated"),
    "disable": ("停用", "disabled"),
    "enable": ("启用", "enabled"),
    "reverse": ("撤销", "reversed"),
    "simulate": ("模拟", "simulated"),
    "submit": ("提交", "submitted"),
    "resubmit": ("重新提交", "resubmitted"),
    "refuse": ("不予批准", "refused"),
    "document": ("上传材料", "document added"),
    "register_import": ("导入企业名录", "register imported"),
    "details": ("修改位置与营业信息", "listing changed"),
    "photo": ("上传照片", "photo added"),
}
# Detail keys a person can read; others are left to the API.
DETAILS: dict[str, Words] = {
    "reason": ("原因", "Reason"),
    "member_no": ("会员号", "Member number"),
    "code": ("编码", "Code"),
    "status": ("状态", "Status"),
    "name": ("名称", "Name"),
    "display_name": ("名称", "Name"),
    "legal_name": ("单位全称", "Legal name"),
    "from": ("原", "From"),
    "to": ("改为", "To"),
    "by": ("操作人", "By"),
    "version": ("版本", "Version"),
    "total": ("条数", "Count"),
    "region": ("地区", "Region"),
    "ref_no": ("编号", "Reference"),
    "level": ("等级", "Level"),
    "label": ("名称", "Label"),
    "kind": ("类型", "Kind"),
    "category": ("类别", "Category"),
    "filename": ("文件", "File"),
    "created": ("新增", "Created"),
    "updated": ("更新", "Updated"),
    "unchanged": ("无变化", "Unchanged"),
    "error_rows": ("有错误的行", "Rows with errors"),
    "hardship_proposed": ("待审批建档", "Hardship records proposed"),
    "dry_run": ("试运行", "Dry run"),
    "amount_fen": ("金额", "Amount"),
    "expires_at": ("到期时间", "Expires"),
    "issued": ("发放", "Issued"),
    "generation": ("代次", "Generation"),
    "added": ("新增", "Added"),
    "problems": ("有误的行", "Rows refused"),
    "photos": ("照片数", "Photos"),
}
# Stored values that are names: statuses and kinds, in words.
VALUES: dict[str, Words] = {
    "pending": ("待审批", "Pending"),
    "approved": ("已批准", "Approved"),
    "rejected": ("不予批准", "Rejected"),
    "expired": ("已到期", "Expired"),
    "revoked": ("已撤销", "Revoked"),
    "active": ("正常", "Active"),
    "suspended": ("暂停", "Suspended"),
    "terminated": ("已终止", "Terminated"),
    "closed": ("已关闭", "Closed"),
    "disabled": ("已停用", "Disabled"),
    "left": ("已离会", "Left"),
    "draft": ("草稿", "Draft"),
    "paused": ("已暂停", "Paused"),
    "ended": ("已结束", "Ended"),
    "submitted": ("待受理", "To accept"),
    "accepted": ("办理中", "In progress"),
    "info_requested": ("待补充材料", "Waiting for the member"),
    "resolved": ("已办结", "Resolved"),
    "refused": ("未通过", "Refused"),
    "found": ("单独建会", "Found a union"),
    "join_joint": ("加入联合工会", "Join a joint union"),
    "withdrawn": ("已撤回", "Withdrawn"),
    "accident": ("因意外致困", "Accident"),
    "illness": ("因病致困", "Illness"),
    "disability": ("因残致困", "Disability"),
    "unemployment": ("失业", "Unemployment"),
    "education": ("子女就学", "Education"),
    "other": ("其他", "Other"),
}
VALUES |= {c.value: (CATEGORY_LABELS_ZH[c], CATEGORY_LABELS_EN[c]) for c in MerchantCategory}
_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True, slots=True)
class AuditLine:
    action: str
    target: str
    details: list[tuple[str, str]]


def _value(value: Any, lang: Lang) -> str | None:
    if isinstance(value, bool):
        return pick(lang, "是", "yes") if value else pick(lang, "否", "no")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        if value in VALUES:
            return pick(lang, *VALUES[value])
        if _NAME.fullmatch(value):
            return None  # an internal name without a word: not shown
        try:
            uuid.UUID(value)
            return value[:8] + "…"
        except ValueError:
            return value
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        shown = [v for v in (_value(v, lang) for v in value[:5]) if v]
        return "、".join(shown) + ("…" if len(value) > 5 else "")
    return None


def action_words(action: str, lang: Lang) -> str:
    obj, _, verb = action.partition(".")
    o, v = OBJECTS.get(obj), VERBS.get(verb.split(".")[0])
    if o and v:
        return pick(lang, o[0] + v[0], f"{o[1]} {v[1]}")
    if o:
        return pick(lang, f"{o[0]}操作", f"{o[1]} action")
    return pick(lang, "其他操作", "Other action")


def describe(entry: Any, lang: Lang) -> AuditLine:
    target = OBJECTS.get(entry.target_type or "")
    details: list[tuple[str, str]] = []
    for key, value in (entry.summary or {}).items():
        if key in DETAILS and (shown := _value(value, lang)) not in (None, ""):
            text = f"¥{int(value) / 100:.2f}" if key == "amount_fen" else shown
            details.append((pick(lang, *DETAILS[key]), str(text)))
    return AuditLine(
        action=action_words(entry.action, lang),
        target=pick(lang, *target) if target else "—",
        details=details,
    )
