"""The operator's audit trail: every action an operator takes from the admin (preheat, force,
pause, resume, holding the line, cancelling orders, replaying or discarding dead letters) is a
row of the admin's own history (``LogEntry``): who, when, on what, what was done and its numbers.
It shows on the object's History page and in the admin's "Recent actions"."""

from __future__ import annotations

from django.contrib.admin.models import CHANGE, LogEntry


def audit_record(*, user, obj, action: str, **numbers) -> LogEntry:
    """Record ``action`` on ``obj`` by ``user``, with ``numbers`` as ``name=value`` pairs in order."""
    details = " ".join(f"{name}={value}" for name, value in numbers.items())
    message = f"{action}: {details}" if details else action
    return LogEntry.objects.log_actions(
        user_id=user.pk, queryset=[obj], action_flag=CHANGE, change_message=message[:2000], single_object=True
    )
