"""Bank branches."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from moneyrail.banking.auth import BankingAdmin, BankingRead
from moneyrail.banking.branches import schemas
from moneyrail.banking.branches.service import branches
from moneyrail.core.db import SessionDep
from moneyrail.core.errors import problem_responses
from moneyrail.core.idempotency import IdempotentRoute, idempotent
from moneyrail.core.pagination import Page, PageParams, page_params

router = APIRouter(tags=["banking"], route_class=IdempotentRoute)
Paging = Annotated[PageParams, Depends(page_params)]


@router.post(
    "/branches",
    status_code=201,
    response_model=schemas.BranchOut,
    responses=problem_responses(409, 422),
)
@idempotent()
async def create_branch(
    body: schemas.BranchCreate, subject: BankingAdmin, session: SessionDep
) -> Any:
    """Create a branch of the tenant's bank, identified by its code and optional IFSC. No money moves.
    Fails with 409 `branch_exists` when the code is taken.
    """
    branch = await branches.create_branch(session, subject=subject, data=body)
    return schemas.BranchOut.model_validate(branch)


@router.get("/branches")
async def list_branches(
    subject: BankingRead, session: SessionDep, params: Paging
) -> Page[schemas.BranchOut]:
    """List the tenant's branches, a page at a time."""
    rows, cursor = await branches.list_branches(session, tenant_id=subject.tenant_id, params=params)
    return Page(data=[schemas.BranchOut.model_validate(r) for r in rows], next_cursor=cursor)
