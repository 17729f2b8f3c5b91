"""What people read for the founding enums and timeline steps: (中文, English)."""

from __future__ import annotations

KIND_LABELS = {
    "found": ("单独建立基层工会", "Found its own union"),
    "join_joint": ("加入区域性或行业性联合工会", "Join a joint union"),
}
APPLICANT_LABELS = {
    "employer": ("单位（雇主）代表", "Employer's representative"),
    "workers": ("职工发起", "A group of workers"),
}
STATUS_LABELS = {
    "submitted": ("待审核", "Under review"),
    "info_requested": ("待补充材料", "More information needed"),
    "refused": ("未通过", "Refused"),
    "approved": ("已批准", "Approved"),
}
STEP_LABELS = {
    "submitted": ("提交申请", "Submitted"),
    "resubmitted": ("补充后重新提交", "Resubmitted"),
    "document": ("上传材料", "Document added"),
    "info_requested": ("要求补充材料", "More information asked for"),
    "refused": ("不予批准", "Refused"),
    "approved": ("批准建会", "Approved"),
}
