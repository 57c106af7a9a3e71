"""The monthly payment run, started by every replica from the payment day on."""

from __future__ import annotations

import logging
from datetime import date

from marfiq_pensions.background import Loop
from marfiq_pensions.dependencies import Clock, local_day, month_of
from marfiq_pensions.payments.schemas import PaymentRunRead
from marfiq_pensions.payments.service import run_month
from marfiq_pensions.regimes import RegimeCatalogue
from marfiq_pensions.settings import PensionsSettings
from marfiq_shared.db import Database

log = logging.getLogger("marfiq.pensions.payments")


class PaymentScheduler:
    def __init__(
        self,
        database: Database,
        *,
        settings: PensionsSettings,
        catalogue: RegimeCatalogue,
        clock: Clock,
    ) -> None:
        self._database = database
        self._settings = settings
        self._catalogue = catalogue
        self._clock = clock
        self.loop = Loop(
            "pensions-payments", self.tick, interval_s=settings.payment_check_interval_s
        )

    async def run(self, month: date) -> PaymentRunRead:
        """Pay `month` in one transaction (a no-op when it was paid already)."""
        async with self._database.sessionmaker() as session, session.begin():
            return await run_month(
                session, month=month, catalogue=self._catalogue, now=self._clock()
            )

    async def tick(self) -> bool:
        """From the payment day on, pay the current month if it has not been paid."""
        today = local_day(self._clock())
        if today.day >= self._settings.payment_day:
            await self.run(month_of(today))
        return False

    def start(self) -> None:
        self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop()
