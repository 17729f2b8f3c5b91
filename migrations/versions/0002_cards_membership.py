"""Cards (signing keys, cards, card events) and membership workflows (applications,
transfers, invite links, membership history).

Revision ID: 0002_cards_membership
Revises: 0001_foundation
Create Date: 2026-11-27
"""

import advanced_alchemy
import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0002_cards_membership"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('card_signing_key',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('kid', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('active', 'retiring', 'retired', name='keystatus', native_enum=False, length=16), nullable=False),
    sa.Column('public_key', sa.String(length=64), nullable=False),
    sa.Column('private_key_enc', sa.String(length=255), nullable=False),
    sa.Column('data_key_id', sa.String(length=16), nullable=False),
    sa.Column('activated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('retiring_since', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('retired_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_signing_key')),
    sa.UniqueConstraint('kid', name=op.f('uq_card_signing_key_kid'))
    )
    with op.batch_alter_table('card_signing_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_card_signing_key_status'), ['status'], unique=False)
        batch_op.create_index('uq_card_signing_key_active', ['status'], unique=True, sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))

    op.create_table('invite_link',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('org_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('expires_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('revoked_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('uses', sa.Integer(), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], name=op.f('fk_invite_link_org_id_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invite_link')),
    sa.UniqueConstraint('token', name=op.f('uq_invite_link_token'))
    )
    with op.batch_alter_table('invite_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invite_link_org_id'), ['org_id'], unique=False)

    op.create_table('card',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('member_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('active', 'suspended', 'revoked', name='cardstatus', native_enum=False, length=16), nullable=False),
    sa.Column('status_index', sa.BigInteger(), nullable=False),
    sa.Column('issued_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('status_reason', sa.String(length=255), nullable=True),
    sa.Column('status_changed_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('previous_id', advanced_alchemy.types.guid.GUID(length=16), nullable=True),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_card_member_id_member')),
    sa.ForeignKeyConstraint(['previous_id'], ['card.id'], name=op.f('fk_card_previous_id_card')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card')),
    sa.UniqueConstraint('number', name=op.f('uq_card_number')),
    sa.UniqueConstraint('status_index', name=op.f('uq_card_status_index'))
    )
    with op.batch_alter_table('card', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_card_member_id'), ['member_id'], unique=False)
        batch_op.create_index('uq_card_member_current', ['member_id'], unique=True, sqlite_where=sa.text("status != 'revoked'"), postgresql_where=sa.text("status != 'revoked'"))

    op.create_table('join_application',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('org_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('org_path', sa.String(length=400), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', 'withdrawn', name='requeststatus', native_enum=False, length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('id_number_enc', sa.String(length=255), nullable=False),
    sa.Column('id_number_hash', sa.String(length=64), nullable=False),
    sa.Column('phone_enc', sa.String(length=255), nullable=False),
    sa.Column('phone_hash', sa.String(length=64), nullable=False),
    sa.Column('data_key_id', sa.String(length=16), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('gender', sa.String(length=1), nullable=False),
    sa.Column('employment_type', sa.String(length=32), nullable=True),
    sa.Column('employer', sa.String(length=128), nullable=True),
    sa.Column('job', sa.String(length=64), nullable=True),
    sa.Column('categories', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'cockroachdb').with_variant(advanced_alchemy.types.json.ORA_JSONB(), 'oracle').with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('hardship_level', sa.SmallInteger(), nullable=True),
    sa.Column('privacy_version', sa.String(length=16), nullable=False),
    sa.Column('consented_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('submitted_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('decided_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=255), nullable=True),
    sa.Column('member_id', advanced_alchemy.types.guid.GUID(length=16), nullable=True),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_join_application_member_id_member')),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], name=op.f('fk_join_application_org_id_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_join_application'))
    )
    with op.batch_alter_table('join_application', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_join_application_id_number_hash'), ['id_number_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_join_application_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_join_application_org_path', ['org_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_join_application_phone_hash'), ['phone_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_join_application_status'), ['status'], unique=False)
        batch_op.create_index('uq_join_application_pending_id', ['id_number_hash'], unique=True, postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))

    op.create_table('membership_event',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('member_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('from_org_id', advanced_alchemy.types.guid.GUID(length=16), nullable=True),
    sa.Column('to_org_id', advanced_alchemy.types.guid.GUID(length=16), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=True),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'cockroachdb').with_variant(advanced_alchemy.types.json.ORA_JSONB(), 'oracle').with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_membership_event_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_event'))
    )
    with op.batch_alter_table('membership_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_membership_event_member_id'), ['member_id'], unique=False)

    op.create_table('transfer_request',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('member_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('from_org_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('from_org_path', sa.String(length=400), nullable=False),
    sa.Column('to_org_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('to_org_path', sa.String(length=400), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', 'withdrawn', name='requeststatus', native_enum=False, length=16), nullable=False),
    sa.Column('note', sa.String(length=255), nullable=True),
    sa.Column('submitted_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('decided_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=255), nullable=True),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['from_org_id'], ['org.id'], name=op.f('fk_transfer_request_from_org_id_org')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_transfer_request_member_id_member')),
    sa.ForeignKeyConstraint(['to_org_id'], ['org.id'], name=op.f('fk_transfer_request_to_org_id_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_request'))
    )
    with op.batch_alter_table('transfer_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfer_request_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_request_status'), ['status'], unique=False)
        batch_op.create_index('ix_transfer_request_to_path', ['to_org_path'], unique=False)
        batch_op.create_index('uq_transfer_request_pending_member', ['member_id'], unique=True, postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))

    op.create_table('card_event',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('card_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('member_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('kind', sa.Enum('issued', 'reissued', 'suspended', 'resumed', 'revoked', name='cardeventkind', native_enum=False, length=16), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=True),
    sa.Column('actor_id', advanced_alchemy.types.guid.GUID(length=16), nullable=True),
    sa.Column('actor_name', sa.String(length=64), nullable=False),
    sa.Column('at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['card_id'], ['card.id'], name=op.f('fk_card_event_card_id_card')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_card_event_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_event'))
    )
    with op.batch_alter_table('card_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_card_event_card_id'), ['card_id'], unique=False)
        batch_op.create_index('ix_card_event_member_at', ['member_id', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('card_event', schema=None) as batch_op:
        batch_op.drop_index('ix_card_event_member_at')
        batch_op.drop_index(batch_op.f('ix_card_event_card_id'))

    op.drop_table('card_event')
    with op.batch_alter_table('transfer_request', schema=None) as batch_op:
        batch_op.drop_index('uq_transfer_request_pending_member', postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
        batch_op.drop_index('ix_transfer_request_to_path')
        batch_op.drop_index(batch_op.f('ix_transfer_request_status'))
        batch_op.drop_index(batch_op.f('ix_transfer_request_member_id'))

    op.drop_table('transfer_request')
    with op.batch_alter_table('membership_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_membership_event_member_id'))

    op.drop_table('membership_event')
    with op.batch_alter_table('join_application', schema=None) as batch_op:
        batch_op.drop_index('uq_join_application_pending_id', postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
        batch_op.drop_index(batch_op.f('ix_join_application_status'))
        batch_op.drop_index(batch_op.f('ix_join_application_phone_hash'))
        batch_op.drop_index('ix_join_application_org_path')
        batch_op.drop_index(batch_op.f('ix_join_application_org_id'))
        batch_op.drop_index(batch_op.f('ix_join_application_id_number_hash'))

    op.drop_table('join_application')
    with op.batch_alter_table('card', schema=None) as batch_op:
        batch_op.drop_index('uq_card_member_current', sqlite_where=sa.text("status != 'revoked'"), postgresql_where=sa.text("status != 'revoked'"))
        batch_op.drop_index(batch_op.f('ix_card_member_id'))

    op.drop_table('card')
    with op.batch_alter_table('invite_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invite_link_org_id'))

    op.drop_table('invite_link')
    with op.batch_alter_table('card_signing_key', schema=None) as batch_op:
        batch_op.drop_index('uq_card_signing_key_active', sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
        batch_op.drop_index(batch_op.f('ix_card_signing_key_status'))

    op.drop_table('card_signing_key')
