"""Merchant settlement: monthly statements from the ledger and their life (open → confirmed →
paid); a confirmed or paid month is frozen, and a later reversal of it is booked into the next
open month."""
