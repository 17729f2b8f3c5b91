"""What a rest station (工惠驿家) offers, kept as bits of one integer so that "has all of these"
is one indexed-row test on both engines (``amenities & wanted = wanted``)."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from cardsvc.kernel.errors import ValidationError


class Amenity(enum.IntFlag):
    water = 1  # drinking water
    toilet = 2
    charging = 4  # phone charging
    microwave = 8
    seats = 16  # rest seats
    air_conditioning = 32
    first_aid = 64
    wifi = 128


AMENITY_LABELS_ZH = {
    Amenity.water: "饮用水",
    Amenity.toilet: "卫生间",
    Amenity.charging: "手机充电",
    Amenity.microwave: "微波炉",
    Amenity.seats: "休息座椅",
    Amenity.air_conditioning: "空调",
    Amenity.first_aid: "急救药箱",
    Amenity.wifi: "无线网络",
}
AMENITY_LABELS_EN = {
    Amenity.water: "Drinking water",
    Amenity.toilet: "Toilet",
    Amenity.charging: "Phone charging",
    Amenity.microwave: "Microwave",
    Amenity.seats: "Rest seats",
    Amenity.air_conditioning: "Air conditioning",
    Amenity.first_aid: "First-aid kit",
    Amenity.wifi: "Wi-Fi",
}
AMENITY_NAMES = tuple(a.name for a in Amenity if a.name)
# (bit, name) in the flag's order, as plain ints: a page of stores reads many masks, and the
# flag's own ``&`` builds an enum member each time.
_BITS = tuple((a.value, a.name) for a in Amenity if a.name)


def to_mask(field: str, names: Iterable[str]) -> int:
    mask = 0
    for name in names:
        try:
            mask |= Amenity[name.strip()]
        except KeyError:
            raise ValidationError.field(
                field,
                "设施应为：" + "、".join(AMENITY_LABELS_ZH.values()),
                "amenities are " + ", ".join(AMENITY_NAMES),
            ) from None
    return mask


def from_mask(mask: int) -> list[str]:
    return [name for bit, name in _BITS if mask & bit]
