"""merge the domains

Revision ID: 0b86f619b5b9
Revises: 3c7e51a0b2d4, 6cd5c0e143ba, 7b2e4c9d1a06, f1594b68e754
Create Date: 2026-11-21 23:45:39.996121

"""

# revision identifiers, used by Alembic.
revision = "0b86f619b5b9"
down_revision = ("3c7e51a0b2d4", "6cd5c0e143ba", "7b2e4c9d1a06", "f1594b68e754")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
