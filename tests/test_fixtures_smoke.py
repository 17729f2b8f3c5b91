from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def test_engine_has_schema(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM org"))).scalar_one() == 0
