"""Small rule files for the CLI tests: one clean, one with warnings only, one with an error."""

CLEAN = """\
ruleset clean
  timezone "Asia/Shanghai"

policy marketing
  at_most 3 messages per customer per 7 days
  requires consent.marketing

campaign birthday
  audience customers where customer.birthday is today
  schedule daily at 10:00
  policy marketing
  send sms "birthday_sms"
"""

# A marketing campaign with neither consent check nor cap: two warnings (W501, W503).
WARNS = """\
ruleset warns
  timezone "Asia/Shanghai"

campaign promo
  audience customers
  schedule daily at 10:00
  send sms "promo_sms"
"""

# A misspelled field: one error (E210) with a "did you mean" hint.
BROKEN = """\
ruleset broken

campaign promo
  audience customers where customer.total_asets > 1
  send sms "promo_sms"
"""
