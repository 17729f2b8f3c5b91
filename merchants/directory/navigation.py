"""Links that open a store in a navigation app: the ``geo:`` URI (Android picks the app) and
the URL schemes of the common map apps, each given the datum it expects."""

from __future__ import annotations

from urllib.parse import quote

from merchants.directory.geo import wgs84_to_gcj02


def nav_links(lat: float, lng: float, name: str) -> dict[str, str]:
    """WGS-84 in; ``geo``, ``amap``, ``baidu``, ``tencent`` and ``apple`` links out."""
    glat, glng = wgs84_to_gcj02(lat, lng)
    n = quote(name, safe="")
    return {
        "geo": f"geo:{lat:.6f},{lng:.6f}?q={lat:.6f},{lng:.6f}({n})",
        # AMap's web URI opens the app when installed; it converts from WGS-84 itself.
        "amap": (
            f"https://uri.amap.com/marker?position={lng:.6f},{lat:.6f}&name={n}"
            "&coordinate=wgs84&callnative=1&src=unioncard"
        ),
        "baidu": (
            f"baidumap://map/marker?location={lat:.6f},{lng:.6f}&title={n}"
            "&coord_type=wgs84&src=unioncard"
        ),
        "tencent": f"qqmap://map/marker?marker=coord:{glat:.6f},{glng:.6f};title:{n}&referer=unioncard",
        "apple": f"https://maps.apple.com/?ll={glat:.6f},{glng:.6f}&q={n}",
    }
