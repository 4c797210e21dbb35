"""Demo data: realistic, synthetic Chinese retail and corporate customers for `rulebank demo seed`.

Every person is invented (faker zh_CN), but the shape is a bank's: branches in real provinces
(Xinjiang on Asia/Urumqi time), RMs per branch, tiers and levels that follow assets, dormant and
"active but silent" customers, birthdays today and on 29 February, holdings, consents by channel
and purpose with source and evidence (some withdrawn or expired), and recent events, so every
example ruleset selects someone. Rows are pure functions of the seed and the date; the insert
loop writes Core executemany batches, a transaction each. Ids start `DM`: a reset spares the rest.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from faker import Faker
from sqlalchemy.orm import Session, sessionmaker

from store.customer import Consent, Customer, Holding
from store.event import Event
from store.session import session_scope

PREFIX, EVENT_PREFIX = "DM", "demo-"
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Province, city, branch code, number of branches. Rural branches get farming customers.
PLACES = [line.split() for line in """
    北京市 北京 BJ 4 | 上海市 上海 SH 4 | 天津市 天津 TJ 2 | 重庆市 重庆 CQ 2 | 广东省 广州 GZ 3
    广东省 深圳 SZ 3 | 广东省 东莞 DG 1 | 江苏省 南京 NJ 2 | 江苏省 苏州 SU 2 | 浙江省 杭州 HZ 3
    浙江省 宁波 NB 1 | 四川省 成都 CD 2 | 四川省 绵阳 MY 1 | 湖北省 武汉 WH 2 | 山东省 青岛 QD 2
    山东省 潍坊 WF 1 | 河南省 周口 ZK 1 | 陕西省 西安 XA 1 | 黑龙江省 绥化 HL 1 | 福建省 厦门 XM 1
    新疆维吾尔自治区 乌鲁木齐 UR 1 | 新疆维吾尔自治区 伊犁 YL 1 | 内蒙古自治区 锡林郭勒 XL 1
""".replace("\n", "|").split("|") if line.strip()]  # fmt: skip
RURAL, URUMQI_TIME = {"MY", "WF", "ZK", "HL", "YL", "XL"}, {"UR", "YL"}  # by branch code
TIERS = [(6_000_000, "private"), (500_000, "affluent"), (0, "mass")]
LEVELS = [50_000, 200_000, 500_000, 6_000_000]  # level = 1 + thresholds reached
PRODUCTS = {
    "retail": [("deposit", 0.92), ("time_deposit", 0.35), ("credit_card", 0.45), ("fund", 0.2),
               ("car_loan", 0.06), ("insurance", 0.12)],
    "corporate": [("corporate_deposit", 1.0), ("payroll", 0.4), ("cash_management", 0.3),
                  ("working_capital_loan", 0.35), ("trade_finance", 0.1)],
}  # fmt: skip
CONSENTS = [("sms", "service", 0.95), ("all", "marketing", 0.6), ("sms", "marketing", 0.55),
            ("email", "marketing", 0.3), ("push", "marketing", 0.4), ("phone", "marketing", 0.2),
            ("all", "personalisation", 0.5)]  # fmt: skip
EVIDENCE = {"branch": "FORM", "mobile_app": "APP", "online_banking": "WEB", "call_centre": "REC"}
EVENTS = {"transfer.completed": 40, "card.transaction": 30, "app.login": 20,
          "customer.transacted": 6, "deposit.matured": 3, "complaint.filed": 1}  # fmt: skip


class DemoData:
    """Row dicts for customers `DM000000001`, ...; the same seed and date give the same rows."""

    def __init__(self, seed: int, today: date) -> None:
        self.rng, self.fake = random.Random(seed), Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.seed, self.today = seed, today
        self.now = datetime.combine(today, time(12), SHANGHAI).astimezone(UTC)
        self.branches = [(p, f"{p[2]}{k:02d}") for p in PLACES for k in range(1, int(p[3]) + 1)]

    def _ago(self, low: float, high: float) -> datetime:
        return self.now - timedelta(days=self.rng.uniform(low, high))

    def _day(self, start: date) -> date:  # a day between `start` and today
        return start + timedelta(days=self.rng.randrange(max((self.today - start).days, 1)))

    def _birthday(self, age: int) -> date:
        year = self.today.year - age
        if self.rng.random() < 0.006:  # birthday today (in a leap year if today is 29 February)
            leap_day = (self.today.month, self.today.day) == (2, 29)
            return self.today.replace(year=year - year % 4 if leap_day else year)
        if self.rng.random() < 0.003:
            return date(year - year % 4, 2, 29)  # leap-day birthdays, celebrated on 28 February
        return date(year, 1, 1) + timedelta(days=self.rng.randrange(365))

    def customer(self, number: int) -> tuple[dict, list[dict], list[dict], list[dict]]:
        """One customer row with its holdings, consents and events."""
        rng, cid = self.rng, f"{PREFIX}{number:09d}"
        (province, _, code, _), branch = rng.choice(self.branches)
        kind = "corporate" if rng.random() < 0.12 else "retail"
        assets = rng.lognormvariate(14.0 if kind == "corporate" else 11.3, 1.4)
        tier = next(name for floor, name in TIERS if assets >= floor)
        age, roll = rng.randint(18, 85), rng.random()
        status = "closed" if roll < 0.02 else "dormant" if roll < 0.11 else "active"
        silent = status != "active" or rng.random() < 0.2  # no transaction for 90+ days
        opened = self.today - timedelta(days=rng.randrange(30, 9000))
        products = [p for p, share in PRODUCTS[kind] if rng.random() < share]
        if kind == "retail" and rng.random() < (0.7 if tier != "mass" else 0.15):
            products.append("wealth")
        if kind == "retail" and rng.random() < (0.3 if 25 <= age <= 55 else 0.08):
            products.append("mortgage")
        farmer = kind == "retail" and code in RURAL and rng.random() < 0.6
        email = self.fake.free_email() if rng.random() < 0.4 else None
        growth = rng.choice([rng.gauss(0.02, 0.15)] * 18 + [rng.uniform(0.25, 1.5), -0.5])
        row = {
            "id": cid, "kind": kind, "status": status, "tier": tier, "region": province,
            "name": self.fake.company() if kind == "corporate" else self.fake.name(),
            "level": 1 + sum(assets >= t for t in LEVELS), "segment": self._segment(kind, age),
            "locale": "en" if rng.random() < 0.03 else "zh_CN", "branch": branch,
            "timezone": "Asia/Urumqi" if code in URUMQI_TIME else "Asia/Shanghai",
            "relationship_manager": f"rm.{branch.lower()}.{rng.randint(1, 4)}"
            if kind == "corporate" or tier != "mass" or rng.random() < 0.4 else None,
            "birthday": None if kind == "corporate" else self._birthday(age),
            "opened_on": opened, "total_assets": Decimal(f"{assets:.2f}"),
            "balance": Decimal(f"{assets * rng.uniform(0.1, 0.9):.2f}"),
            "credit_limit": Decimal(rng.choice([5, 10, 20, 50, 100]) * 1000
                                    if "credit_card" in products else 0),
            "balance_growth_90d": round(growth, 4),
            "credit_score": None if rng.random() < 0.1 else min(900, int(rng.gauss(680, 70))),
            "last_transaction_at": self._ago(91, 900) if silent else self._ago(0, 60),
            "contract_end_on": self.today + timedelta(days=rng.randint(-30, 400))
            if kind == "corporate" else None,
            "phone": self.fake.phone_number(), "email": email,
            "do_not_disturb": rng.random() < 0.03, "personalisation_opt_out": rng.random() < 0.05,
            "attributes": self._farm(products) if farmer else {},
            "created_at": self.now, "updated_at": self.now,
        }  # fmt: skip
        holdings = [{"customer_id": cid, "product": p, "opened_on": self._day(opened)}
                    for p in products]  # fmt: skip
        return row, holdings, self._consents(cid, email, opened), self._events(cid)

    def _segment(self, kind: str, age: int) -> str | None:
        if kind == "corporate":
            return self.rng.choice(["sme", "sme", "large"])
        return (
            "senior" if age >= 60 else "youth" if age < 30 else self.rng.choice([None, "payroll"])
        )

    def _farm(self, products: list[str]) -> dict:
        """The rural bank's custom fields (see rulesets/rural_bank.rules); adds farm products."""
        rng, herd = self.rng, self.rng.choice([0, 0, self.rng.randint(10, 300)])
        farm = {"land_contract_mu": rng.randint(5, 200), "livestock_head": herd,
                "cooperative_member": rng.random() < 0.4}  # fmt: skip
        if rng.random() < 0.4:
            products.append("agri_loan")
            due = self.today + timedelta(days=rng.randint(-30, 120))
            farm["harvest_loan_due_on"] = due.isoformat()
        if herd and rng.random() < 0.3:
            products.append("livestock_insurance")
        return farm

    def _consents(self, cid: str, email: str | None, opened: date) -> list[dict]:
        # Consent is a legal record: each row says where it was given and what proves it.
        rows, rng = [], self.rng
        for channel, purpose, share in CONSENTS:
            if rng.random() >= share or (channel == "email" and email is None):
                continue
            source, given = rng.choice(list(EVIDENCE)), self._ago(0, (self.today - opened).days)
            rows.append({
                "customer_id": cid, "channel": channel, "purpose": purpose, "source": source,
                "granted": rng.random() > 0.06, "granted_at": given,  # 6% are withdrawals
                "evidence": f"{EVIDENCE[source]}-{given:%Y%m%d}-{rng.randrange(10**6):06d}",
                "expires_at": given + timedelta(days=730) if rng.random() < 0.1 else None,
            })  # fmt: skip
        return rows

    def _events(self, cid: str) -> list[dict]:
        count = 0 if self.rng.random() > 0.3 else self.rng.randint(1, 3)
        kinds = self.rng.choices(list(EVENTS), list(EVENTS.values()), k=count)
        return [{"type": kind, "customer_id": cid, "occurred_at": self._ago(0, 30),
                 "received_at": self.now, "idempotency_key": f"{EVENT_PREFIX}{self.seed}-{cid}-{j}",
                 "payload": {"amount": round(self.rng.lognormvariate(8.5, 2.0), 2),
                             "currency": "CNY", "channel": self.rng.choice(["mobile", "branch"])}}
                for j, kind in enumerate(kinds)]  # fmt: skip


def reset(session: Session) -> None:
    """Delete demo rows only; holdings and consents go with their customer (ON DELETE CASCADE)."""
    session.execute(sa.delete(Customer).where(Customer.id.startswith(PREFIX)))
    session.execute(sa.delete(Event).where(Event.idempotency_key.startswith(EVENT_PREFIX)))


def existing(session: Session) -> int:
    """How many demo customers the database holds."""
    return session.scalar(sa.select(sa.func.count()).where(Customer.id.startswith(PREFIX)))


def seed_customers(
    factory: sessionmaker[Session], count: int, *, seed: int, today: date,
    batch_size: int = 5000, on_batch: Callable[[int], None] = lambda n: None,
) -> dict[str, int]:  # fmt: skip
    """Insert `count` demo customers, one transaction per batch; rows written per table."""
    data, models = DemoData(seed, today), (Customer, Holding, Consent, Event)
    totals = {model.__tablename__: 0 for model in models}
    for start in range(0, count, batch_size):
        rows: list[list[dict]] = [[], [], [], []]
        for number in range(start + 1, min(start + batch_size, count) + 1):
            customer, *related = data.customer(number)
            for into, part in zip(rows, [[customer], *related], strict=True):
                into += part
        with session_scope(factory) as session:
            for model, batch in zip(models, rows, strict=True):
                if batch:  # Core executemany: no ORM objects for hundreds of thousands of rows
                    session.execute(sa.insert(model.__table__), batch)
                    totals[model.__tablename__] += len(batch)
        on_batch(len(rows[0]))
    return totals
