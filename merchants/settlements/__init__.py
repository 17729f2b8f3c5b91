"""Staff side of merchant settlement: statements per merchant and month, confirm, mark paid,
export for finance; scoped and audited like onboarding."""
