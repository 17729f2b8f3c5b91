"""The demo banner: the URLs and logins ``make demo`` prints, read from the seed's demo.json.
Light to import (``unioncard demo banner`` needs no database stack)."""

from __future__ import annotations

import json

from cardsvc.kernel.settings import Settings

DEMO_PASSWORD = "UnionCard-2026"


def banner(settings: Settings) -> str:
    path = settings.var_dir / "demo.json"
    demo = json.loads(path.read_text()) if path.exists() else {}
    base = settings.public_url
    lines = [
        "",
        "UnionCard 演示环境已就绪 / demo federation ready",
        f"  首页 / start page:         {base}/",
        f"  会员 H5 / member pages:    {base}/m/",
        f"  商户收银 / shop till:      {base}/shop/",
        f"  管理后台 / staff console:  {base}/console/",
        f"  API 文档 / OpenAPI:        {base}/schema",
        f"  健康检查 / health:         {base}/health/ready",
        f"  演示数据 / demo data:      {path}",
        "",
        f"  工作人员登录 / staff logins (password: {DEMO_PASSWORD}):",
    ]
    for s in demo.get("staff", []):
        lines.append(f"    {s['username']:<14} {s['role']:<18} {s['org']:<12} {s['name']}")
    members = demo.get("members", [])[:3]
    if members:
        lines.append("")
        lines.append("  会员示例 / sample members:")
        for m in members:
            lines.append(f"    {m['member_no']}  {m['name']}  {m['union']}")
    cards = demo.get("cards", [])[:1]
    if cards:
        lines.append("")
        lines.append(
            f"  会员手机登录 / member sign-in: phone {cards[0]['phone']} "
            f"(card {cards[0]['number']}); 验证码打印在本窗口日志中 / the code is printed in this log"
        )
    terminals = demo.get("terminals", [])[:1]
    if terminals:
        t = terminals[0]
        lines.append(f"  收银终端密钥 / terminal key ({t['merchant']}): {t['key']}")
    lines.append("")
    lines.append(
        "  登录示例 / sign in: curl -c jar -H 'content-type: application/json' "
        f'-d \'{{"username":"admin","password":"{DEMO_PASSWORD}"}}\' '
        f"{base}/api/v1/staff/session"
    )
    lines.append("")
    return "\n".join(lines)
