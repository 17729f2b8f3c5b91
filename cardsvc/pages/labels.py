"""Words for the field paths that problem details name (``limits[0].limit``, ``outcome``).

A refused form lists each problem as "field: reason"; the API's ``errors[].field`` is a path
in the request body, for programs. People read the label made here instead: each part of the
path in words, an index as "第 N 条"; a part without a label is left out, never shown raw.
"""

from __future__ import annotations

import re

# Path part → (zh, en). Form fields and the programme rule's fields.
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "rules": ("规则", "Rules"),
    "name": ("名称", "Name"),
    "description": ("说明", "Description"),
    "key": ("编号", "Key"),
    "kind": ("类型", "Kind"),
    "code": ("编码", "Code"),
    "level": ("级别", "Level"),
    "status": ("状态", "Status"),
    "reason": ("原因", "Reason"),
    "note": ("说明", "Note"),
    "outcome": ("办理结果", "Outcome"),
    "amount": ("金额", "Amount"),
    "amount_fen": ("金额", "Amount"),
    "body": ("内容", "Content"),
    "file": ("文件", "File"),
    "action": ("操作", "Action"),
    "org_id": ("组织", "Org"),
    "to_org_id": ("转入组织", "Org to move to"),
    "parent_id": ("上级组织", "Parent org"),
    "owner_org_id": ("主办组织", "Owning org"),
    "program_ids": ("普惠项目", "Programmes"),
    "id_number": ("身份证号", "ID number"),
    "member_no": ("会员号", "Member number"),
    "username": ("用户名", "Username"),
    "uscc": ("统一社会信用代码", "Unified social credit code"),
    "credit_code": ("统一社会信用代码", "Unified social credit code"),
    "enterprise_name": ("单位名称", "Enterprise"),
    "contact_name": ("联系人", "Contact"),
    "address": ("地址", "Address"),
    "region_code": ("所在地区", "Region"),
    "headcount": ("职工人数", "Headcount"),
    "union_name": ("拟成立工会名称", "Name of the union"),
    "joint_org_id": ("联合工会", "Joint union"),
    "founders": ("发起人", "Founder"),
    "phone": ("手机号码", "Phone"),
    "applicant_type": ("申请人", "Applicant"),
    "grants": ("角色", "Roles"),
    "rating": ("评分", "Rating"),
    "expected_version": ("版本", "Version"),
    "from": ("开始日期", "From"),
    "to": ("结束日期", "To"),
    "at": ("时间", "Time"),
    "bill_ref": ("账单号", "Bill reference"),
    "token_id": ("卡码", "Card code"),
    "valid_from": ("生效日期", "Valid from"),
    "valid_until": ("截止日期", "Valid until"),
    "timezone": ("时区", "Time zone"),
    "priority": ("优先级", "Priority"),
    "accept_static_tokens": ("接受实体卡静态码", "Accept printed-card codes"),
    "benefit": ("优惠", "Benefit"),
    "basis_points": ("折扣", "Discount"),
    "cap_fen": ("单笔封顶", "Cap per purchase"),
    "funded_by": ("出资方", "Funded by"),
    "min_spend_fen": ("最低消费", "Minimum spend"),
    "off_fen": ("立减金额", "Amount off"),
    "per_unit_fen": ("每份补贴", "Subsidy per unit"),
    "price_fen": ("会员价", "Member price"),
    "eligibility": ("享受条件", "Eligibility"),
    "categories_any": ("会员类别（任一）", "Member categories (any)"),
    "categories_none": ("排除的会员类别", "Excluded member categories"),
    "hardship_levels": ("困难等级", "Hardship levels"),
    "min_age": ("最小年龄", "Minimum age"),
    "max_age": ("最大年龄", "Maximum age"),
    "min_tenure_days": ("最短会龄（天）", "Minimum membership (days)"),
    "regions": ("地区", "Regions"),
    "org_ids": ("组织", "Orgs"),
    "scope": ("适用范围", "Where it applies"),
    "merchant_categories": ("商户类别", "Merchant categories"),
    "merchant_ids": ("商户", "Merchants"),
    "store_ids": ("门店", "Stores"),
    "limits": ("限额", "Limit"),
    "limit": ("次数或金额", "Amount"),
    "period": ("周期", "Period"),
    "metric": ("计量", "Counted in"),
    "on_exceed": ("超出时", "When exceeded"),
    "stacking": ("叠加", "Stacking"),
    "group": ("叠加组", "Stacking group"),
    "mode": ("方式", "Mode"),
    "budget_fen": ("预算", "Budget"),
    "budget": ("预算", "Budget"),
}
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def field_label(path: str, lang: str = "zh") -> str:
    """``limits[0].limit`` → ``限额第 1 条 · 次数或金额`` (English: ``Limit 1 · Amount``)."""
    words: list[str] = []
    for name, index in _PART.findall(path or ""):
        if index:
            n = int(index) + 1
            if words:
                words[-1] += f"第 {n} 条" if lang != "en" else f" {n}"
            continue
        label = FIELD_LABELS.get(name)
        if label is not None and name != "rules":
            words.append(label[1] if lang == "en" else label[0])
    return " · ".join(words)
