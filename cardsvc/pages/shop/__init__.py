"""The shop pages (/shop/): a cashier signs in with the store's terminal key, scans a member's
code (camera or keyboard-wedge scanner), redeems a benefit, voids a recent redemption and sees
today's list. The handlers call the merchant API's domain functions (merchants.terminal.scan,
merchants.terminal.redeem) with the same terminal checks; see docs/pages.md."""

from cardsvc.pages.shop.routes import ShopController

__all__ = ["ShopController"]
