"""Bank branches."""

from __future__ import annotations

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.subject import AuthSubject
from moneyrail.banking.branches import schemas
from moneyrail.banking.branches.models import Branch
from moneyrail.banking.branches.repository import repository
from moneyrail.banking.shared import is_unique_violation, record
from moneyrail.core.errors import Conflict, NotFound
from moneyrail.core.ids import new_id
from moneyrail.core.pagination import PageParams, make_page

log = structlog.get_logger(__name__)


class BranchNotFound(NotFound):
    code = "branch_not_found"
    title = "Branch not found"


class BranchExists(Conflict):
    code = "branch_exists"
    title = "A branch with this code exists"


class BranchesService:
    async def create_branch(
        self, session: AsyncSession, *, subject: AuthSubject, data: schemas.BranchCreate
    ) -> Branch:
        """Raises:
        BranchExists: the tenant already has a branch with this code.
        """
        tenant_id = subject.tenant_id
        if await repository.branch_by_code(session, tenant_id, data.code) is not None:
            raise BranchExists(f"branch {data.code} already exists")
        branch = Branch(tenant_id=tenant_id, id=new_id("br"), **data.model_dump())
        try:
            async with session.begin_nested():
                await repository.add(session, branch)
        except IntegrityError as exc:
            if is_unique_violation(exc):
                raise BranchExists(f"branch {data.code} already exists") from exc
            raise
        await record(
            session,
            subject=subject,
            tenant_id=tenant_id,
            action="branch.created",
            target_type="bank_branch",
            target_id=branch.id,
            after={"code": branch.code, "ifsc": branch.ifsc},
        )
        return branch

    async def list_branches(
        self, session: AsyncSession, *, tenant_id: str, params: PageParams
    ) -> tuple[list[Branch], str | None]:
        rows = await repository.branches(session, tenant_id, params)
        return make_page(rows, params, lambda row: row.id)

    async def branch(self, session: AsyncSession, *, tenant_id: str, code: str) -> Branch:
        """Raises:
        BranchNotFound: no branch with this code.
        """
        branch = await repository.branch_by_code(session, tenant_id, code)
        if branch is None:
            raise BranchNotFound(f"no branch {code}")
        return branch


branches = BranchesService()
