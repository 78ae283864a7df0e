"""Bank customers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from moneyrail.banking.auth import BankingAdmin, BankingRead, BankingWrite
from moneyrail.banking.customers import schemas
from moneyrail.banking.customers.service import customers
from moneyrail.core import limits
from moneyrail.core.db import SessionDep
from moneyrail.core.errors import problem_responses
from moneyrail.core.idempotency import IdempotentRoute, idempotent
from moneyrail.core.pagination import Page, PageParams, page_params

router = APIRouter(tags=["banking"], route_class=IdempotentRoute)
Paging = Annotated[PageParams, Depends(page_params)]


@router.post(
    "/customers",
    status_code=201,
    response_model=schemas.CustomerOut,
    responses=problem_responses(409, 422),
)
@idempotent()
async def create_customer(
    body: schemas.CustomerCreate, subject: BankingWrite, session: SessionDep
) -> Any:
    """Register a bank customer (KYC details start as given, status active). No money moves. Fails with
    409 `customer_exists` when another customer has the e-mail address.
    """
    customer = await customers.create_customer(session, subject=subject, data=body)
    return schemas.CustomerOut.model_validate(customer)


@router.get("/customers")
async def search_customers(
    subject: BankingRead,
    session: SessionDep,
    params: Paging,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=limits.customer_search_query_length_max,
            description="Part of a name, e-mail or phone number (typos tolerated).",
        ),
    ] = None,
) -> Page[schemas.CustomerOut]:
    """Search customers by a substring of name, e-mail or phone; with no match at all, the closest near
    misses (typos) are returned instead, best first.
    """
    rows, cursor = await customers.search_customers(
        session, tenant_id=subject.tenant_id, params=params, query=q.strip() if q else None
    )
    return Page(data=[schemas.CustomerOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.get(
    "/customers/{customer_id}",
    response_model=schemas.CustomerOut,
    responses=problem_responses(404),
)
async def get_customer(customer_id: str, subject: BankingRead, session: SessionDep) -> Any:
    """Fetch one customer. Fails with 404 `customer_not_found`."""
    customer = await customers.customer(
        session, tenant_id=subject.tenant_id, customer_id=customer_id
    )
    return schemas.CustomerOut.model_validate(customer)


@router.put(
    "/customers/{customer_id}",
    response_model=schemas.CustomerOut,
    responses=problem_responses(404, 409, 422),
)
async def update_customer(
    customer_id: str, body: schemas.CustomerUpdate, subject: BankingWrite, session: SessionDep
) -> Any:
    """Replace a customer's details; fields left out keep their values. Fails with 404
    `customer_not_found` or 409 `customer_exists` when the new e-mail is taken.
    """
    customer = await customers.update_customer(
        session, subject=subject, customer_id=customer_id, data=body
    )
    return schemas.CustomerOut.model_validate(customer)


@router.patch(
    "/customers/{customer_id}/status",
    response_model=schemas.CustomerOut,
    responses=problem_responses(404, 422),
)
async def set_customer_status(
    customer_id: str, body: schemas.CustomerStatusUpdate, subject: BankingAdmin, session: SessionDep
) -> Any:
    """Activate, deactivate or block a customer, with a reason. An inactive or blocked customer cannot
    open accounts or take loans. Fails with 404 `customer_not_found`.
    """
    customer = await customers.set_customer_status(
        session, subject=subject, customer_id=customer_id, data=body
    )
    return schemas.CustomerOut.model_validate(customer)
