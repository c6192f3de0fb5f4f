"""Storage: engine, models, migrations. Importing this package registers every table."""

from storage import (  # noqa: F401  (import registers the tables)
    models,
    models_activation,
    models_autoreply,
    models_broadcast,
    models_checkin,
    models_entry,
    models_groupmsg,
    models_members,
    models_moderation,
    models_programme,
    models_referral,
    models_staff,
    models_stats,
    models_wecom,
    models_weekly,
)
from storage.base import Base

metadata = Base.metadata
