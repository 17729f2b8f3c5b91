"""The kinds and states of merchants, stores and terminals: plain enums, light to import (the
CLI's options list them without loading the database stack)."""

from __future__ import annotations

import enum


class MerchantCategory(enum.StrEnum):
    # Same values as benefits.rules.programme.MerchantCategory: a programme's scope names these.
    dining = "dining"
    retail = "retail"
    cinema = "cinema"
    health = "health"
    fitness = "fitness"
    education = "education"
    rest_station = "rest_station"  # 工惠驿家
    other = "other"


CATEGORY_LABELS_ZH = {
    MerchantCategory.dining: "餐饮",
    MerchantCategory.retail: "零售商超",
    MerchantCategory.cinema: "影院",
    MerchantCategory.health: "健康体检",
    MerchantCategory.fitness: "健身",
    MerchantCategory.education: "教育培训",
    MerchantCategory.rest_station: "工惠驿家",
    MerchantCategory.other: "其他",
}
CATEGORY_LABELS_EN = {
    MerchantCategory.dining: "Dining",
    MerchantCategory.retail: "Retail",
    MerchantCategory.cinema: "Cinema",
    MerchantCategory.health: "Health check",
    MerchantCategory.fitness: "Fitness",
    MerchantCategory.education: "Education",
    MerchantCategory.rest_station: "Rest station",
    MerchantCategory.other: "Other",
}


class MerchantStatus(enum.StrEnum):
    active = "active"
    suspended = "suspended"  # temporarily: terminals get 403 merchant_suspended
    terminated = "terminated"  # for good: keys revoked, cannot be resumed


class StoreStatus(enum.StrEnum):
    active = "active"
    closed = "closed"


class TerminalStatus(enum.StrEnum):
    active = "active"
    disabled = "disabled"
