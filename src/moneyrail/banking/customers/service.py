"""Bank customers: create, update, status, search."""

from __future__ import annotations

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.subject import AuthSubject
from moneyrail.banking.customers import schemas
from moneyrail.banking.customers.models import Customer
from moneyrail.banking.customers.repository import repository
from moneyrail.banking.shared import Lock, is_unique_violation, plain, record
from moneyrail.core.errors import Conflict, NotFound, Unprocessable
from moneyrail.core.ids import new_id
from moneyrail.core.pagination import PageParams, make_page

log = structlog.get_logger(__name__)


class CustomerNotFound(NotFound):
    code = "customer_not_found"
    title = "Customer not found"


class CustomerExists(Conflict):
    code = "customer_exists"
    title = "A customer with this e-mail exists"


class CustomerNotActive(Unprocessable):
    code = "customer_not_active"
    title = "The customer is not active"


class CustomersService:
    async def create_customer(
        self, session: AsyncSession, *, subject: AuthSubject, data: schemas.CustomerCreate
    ) -> Customer:
        """Raises:
        CustomerExists: another customer of the tenant has this e-mail address.
        """
        tenant_id = subject.tenant_id
        await self._check_email_free(session, tenant_id, data.email, exclude_id=None)
        customer = Customer(
            tenant_id=tenant_id,
            id=new_id("cus"),
            created_by=subject.actor_id,
            **data.model_dump(mode="python"),
        )
        await self._save_customer(session, customer)
        await record(
            session,
            subject=subject,
            tenant_id=tenant_id,
            action="customer.created",
            target_type="bank_customer",
            target_id=customer.id,
            event="customer.created",
            after={"kyc_status": customer.kyc_status, "status": customer.status},
        )
        return customer

    async def customer(
        self, session: AsyncSession, *, tenant_id: str, customer_id: str, lock: Lock = None
    ) -> Customer:
        """Raises:
        CustomerNotFound: no such customer in this tenant.
        """
        customer = await repository.customer(session, tenant_id, customer_id, lock=lock)
        if customer is None:
            raise CustomerNotFound(f"no customer {customer_id}")
        return customer

    async def update_customer(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        customer_id: str,
        data: schemas.CustomerUpdate,
    ) -> Customer:
        """Raises:
        CustomerNotFound: no such customer. CustomerExists: the new e-mail is taken.
        """
        tenant_id = subject.tenant_id
        customer = await repository.customer(session, tenant_id, customer_id, lock="update")
        if customer is None:
            raise CustomerNotFound(f"no customer {customer_id}")
        changes = data.model_dump(mode="python", exclude_unset=True)
        for required in ("first_name", "last_name", "country", "kyc_status"):
            if changes.get(required, "") is None:
                changes.pop(required)
        if changes.get("email"):
            await self._check_email_free(
                session, tenant_id, changes["email"], exclude_id=customer.id
            )
        before = {key: plain(getattr(customer, key)) for key in changes}
        for key, value in changes.items():
            setattr(customer, key, value)
        await self._save_customer(session, customer)
        await session.refresh(customer)
        await record(
            session,
            subject=subject,
            tenant_id=tenant_id,
            action="customer.updated",
            target_type="bank_customer",
            target_id=customer.id,
            before=before,
            after={key: plain(value) for key, value in changes.items()},
        )
        return customer

    async def set_customer_status(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        customer_id: str,
        data: schemas.CustomerStatusUpdate,
    ) -> Customer:
        """Raises:
        CustomerNotFound: no such customer.
        """
        tenant_id = subject.tenant_id
        customer = await repository.customer(session, tenant_id, customer_id, lock="update")
        if customer is None:
            raise CustomerNotFound(f"no customer {customer_id}")
        before = {"status": customer.status}
        customer.status = data.status.value
        customer.status_reason = data.reason
        await session.flush()
        await session.refresh(customer)
        await record(
            session,
            subject=subject,
            tenant_id=tenant_id,
            action="customer.status_changed",
            target_type="bank_customer",
            target_id=customer.id,
            event="customer.status_changed",
            before=before,
            after={"status": customer.status, "reason": data.reason},
        )
        return customer

    async def search_customers(
        self, session: AsyncSession, *, tenant_id: str, params: PageParams, query: str | None
    ) -> tuple[list[Customer], str | None]:
        """Substring matches on name, e-mail and phone; when there are none at all, the closest
        near misses (typos) instead, best first, on one page."""
        rows = await repository.customers(session, tenant_id, params, query=query)
        if query and not rows and params.cursor is None:
            similar = await repository.similar_customers(
                session, tenant_id, query, limit=params.limit
            )
            return list(similar), None
        return make_page(rows, params, lambda row: row.id)

    async def _check_email_free(
        self, session: AsyncSession, tenant_id: str, email: str | None, *, exclude_id: str | None
    ) -> None:
        if not email:
            return
        existing = await repository.customer_by_email(session, tenant_id, email)
        if existing is not None and existing.id != exclude_id:
            raise CustomerExists("another customer has this e-mail address")

    async def _save_customer(self, session: AsyncSession, customer: Customer) -> None:
        try:
            async with session.begin_nested():
                await repository.add(session, customer)
        except IntegrityError as exc:
            if is_unique_violation(exc):
                raise CustomerExists("another customer has this e-mail address") from exc
            raise

    # --- settings -----------------------------------------------------------------------------


customers = CustomersService()
