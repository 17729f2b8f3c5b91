"""A pending join application's hold on the ID number: at most one pending application per
person (those flagged for staff to review not counted), kept in ``application_identity`` (a
lookup table that holds under Citus, where the applications are distributed by member) and
written in the application's transaction."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.membership.models import ApplicationIdentity, JoinApplication


async def add_application(session: AsyncSession, app: JoinApplication) -> None:
    """The application, and unless flagged its hold on the ID number (one pending application
    per person), in one savepoint."""
    if app.review_flag is not None:
        session.add(app)
        await session.flush()
        return
    try:
        async with session.begin_nested():
            session.add(app)
            await session.flush()  # gives the application its id
            session.add(
                ApplicationIdentity(
                    id_number_hash=app.id_number_hash,
                    member_id=app.member_id,
                    application_id=app.id,
                )
            )
            await session.flush()
    except IntegrityError:
        # Two submissions raced past the check and the identity row kept the other one: this
        # one goes to staff as a duplicate, answered like any other.
        app.review_flag = "pending"
        session.add(app)
        await session.flush()


async def release_identity(session: AsyncSession, app: JoinApplication) -> None:
    """A decided or withdrawn application no longer holds its ID number (a flagged one never
    did: nothing to delete)."""
    await session.execute(
        delete(ApplicationIdentity).where(
            ApplicationIdentity.id_number_hash == app.id_number_hash,
            ApplicationIdentity.application_id == app.id,
        )
    )
