# The audit tests' system key: the trail that earlier transactional tests left is sealed with it, and
# a restore verifies the whole trail.
from tongban.audit.tests.conftest import system_key  # noqa: F401
